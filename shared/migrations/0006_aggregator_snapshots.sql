-- Aggregator speed: snapshot observations get a narrow table of their own for the "latest observation
-- at or before a time" lookups, so the increment events (most of the traffic) no longer pay for a four-column
-- index on applied_events (measured: 40 % of the event insert). applied_events stays the audit of every event.
CREATE TABLE agg_snapshots (
    indicator    text NOT NULL,
    unit         text NOT NULL,
    observed_at  timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    numerator    bigint,
    denominator  bigint,
    value        numeric,
    PRIMARY KEY (indicator, unit, observed_at, event_id)
);

INSERT INTO agg_snapshots (indicator, unit, observed_at, event_id, numerator, denominator, value)
SELECT a.indicator, a.unit, a.observed_at, a.event_id, a.numerator, a.denominator, a.value
FROM applied_events a JOIN indicators i ON i.code = a.indicator
WHERE i.semantics = 'snapshot';

DROP INDEX applied_events_series;
