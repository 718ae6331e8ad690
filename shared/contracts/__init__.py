"""Message contracts: one module per Kafka topic (payload model, key, (de)serialisation), topic and channel names."""
