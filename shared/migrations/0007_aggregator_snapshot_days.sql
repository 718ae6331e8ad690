-- Aggregator speed: every snapshot window ends at a local midnight, so "the latest observation of a unit
-- at or before a day" only needs the latest observation of each (indicator, unit, local day). One row per series-day,
-- upserted from the batch's own latest per series-day (a few hundred rows a batch instead of one row per event).
-- Ties keep the greater event_id, as before. applied_events stays the audit of every event.
CREATE TABLE agg_snapshot_days (
    indicator    text NOT NULL,
    unit         text NOT NULL,
    day          date NOT NULL,  -- local (Asia/Ho_Chi_Minh) date of observed_at
    observed_at  timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    numerator    bigint,
    denominator  bigint,
    value        numeric,
    PRIMARY KEY (indicator, unit, day)
);

INSERT INTO agg_snapshot_days (indicator, unit, day, observed_at, event_id, numerator, denominator, value)
SELECT DISTINCT ON (indicator, unit, (observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)
       indicator, unit, (observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, observed_at, event_id,
       numerator, denominator, value
FROM agg_snapshots
ORDER BY indicator, unit, (observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, observed_at DESC, event_id DESC;

DROP TABLE agg_snapshots;
