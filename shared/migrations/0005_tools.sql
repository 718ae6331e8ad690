-- Operators' tools: dead letters re-driven by `dx dlq replay`. One row per dead-letter record
-- replayed, so replaying the same records again does nothing. The row is inserted in the same transaction
-- that waits for Kafka's acknowledgement of the re-driven message.
CREATE TABLE dlq_replays (
    dlq_topic           text NOT NULL,
    dlq_partition       integer NOT NULL,
    dlq_offset          bigint NOT NULL,
    source_topic        text NOT NULL,           -- where the original bytes were sent back to
    reason              text NOT NULL,           -- the reason it was dead-lettered for
    replayed_partition  integer,
    replayed_offset     bigint,
    replayed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
