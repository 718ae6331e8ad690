"""The aggregator: dx.events.v1 → exact rollups in PostgreSQL (+ dx.rollups.v1 notifications)."""
