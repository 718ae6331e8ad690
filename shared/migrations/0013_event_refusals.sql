-- The audit of events the aggregator did not count: a duplicate of an event already applied (same source and
-- event_id) and a correction or retraction refused (unknown or foreign original, already replaced, ...). The
-- refused amendments are also dead-lettered with the same reason.
CREATE TABLE event_refusals (
    kafka_partition  int NOT NULL,
    kafka_offset     bigint NOT NULL,
    source           text NOT NULL,
    event_id         uuid NOT NULL,
    indicator        text NOT NULL,
    unit             text NOT NULL,
    reason           text NOT NULL,  -- `code: field: message`; code duplicate, unknown_original, ...
    received_at      timestamptz NOT NULL,
    refused_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kafka_partition, kafka_offset)
);
CREATE INDEX event_refusals_id ON event_refusals (event_id);
CREATE INDEX event_refusals_series ON event_refusals (indicator, unit, received_at);
