-- Bounded storage (docs/storage.md): applied_events is partitioned by the UTC month of received_at, so that the
-- months past the replay horizon (Kafka retention of dx.events.v1 and dx.ingest.v1 plus a margin) can be detached
-- whole by `dx events prune` instead of growing by one row per event forever.
--
-- PostgreSQL's unique keys on a partitioned table must hold the partition key, so the primary key becomes
-- (event_id, source, received_at). An identity (source, event_id) is still applied once: the aggregator's insert
-- skips every staged event whose identity any attached partition holds (services/aggregator/sql.py INSERT_EVENTS);
-- the key catches the one case that check cannot see, two transactions inserting the same message at once.
--
-- The aggregator creates the month it needs through dx_event_partition() (it may not run DDL itself): owned by the
-- migrations' role, callable only by the roles that apply events.

CREATE FUNCTION dx_event_partition(month date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := 'applied_events_p' || to_char(first, 'YYYYMM');
BEGIN
    -- two instances may ask for the same new month at once; the caller runs this in a transaction of its own
    PERFORM pg_advisory_xact_lock(hashtext('dx_event_partition'));
    IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = 'applied_events'::regclass AND c.relname = name) THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF applied_events FOR VALUES FROM (%L) TO (%L)', name,
                       first::timestamp AT TIME ZONE 'UTC',
                       (first + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    END IF;
    RETURN name;
END
$$;
REVOKE ALL ON FUNCTION dx_event_partition(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dx_event_partition(date) TO dx_aggregator, dx_app;

ALTER TABLE applied_events RENAME TO applied_events_unpartitioned;

CREATE TABLE applied_events (
    event_id         uuid NOT NULL,
    indicator        text NOT NULL,
    unit             text NOT NULL,
    observed_at      timestamptz NOT NULL,
    numerator        bigint,
    denominator      bigint,
    value            numeric,
    source           text NOT NULL,
    received_at      timestamptz NOT NULL,
    applied_at       timestamptz NOT NULL DEFAULT now(),
    kafka_partition  int,
    kafka_offset     bigint,
    period           text,
    corrects         uuid,
    retracts         uuid,
    replaced_by      uuid,
    replaced_at      timestamptz,
    operator         text,
    series           bigint GENERATED ALWAYS AS (dx_series(indicator, unit)) STORED
) PARTITION BY RANGE (received_at);

-- every month the old table's rows were received in, and this month
WITH bounds AS (
    SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AS this_month,
           date_trunc('month', min(received_at) AT TIME ZONE 'UTC') AS first_month,
           date_trunc('month', max(received_at) AT TIME ZONE 'UTC') AS last_month
    FROM applied_events_unpartitioned
)
SELECT dx_event_partition(m::date)
FROM bounds, generate_series(least(this_month, coalesce(first_month, this_month)),
                             greatest(this_month, coalesce(last_month, this_month)), interval '1 month') AS m;

INSERT INTO applied_events (event_id, indicator, unit, observed_at, numerator, denominator, value, source,
                            received_at, applied_at, kafka_partition, kafka_offset, period, corrects, retracts,
                            replaced_by, replaced_at, operator)
SELECT event_id, indicator, unit, observed_at, numerator, denominator, value, source, received_at, applied_at,
       kafka_partition, kafka_offset, period, corrects, retracts, replaced_by, replaced_at, operator
FROM applied_events_unpartitioned;
DROP TABLE applied_events_unpartitioned;

ALTER TABLE applied_events ADD PRIMARY KEY (event_id, source, received_at);
CREATE INDEX applied_events_series ON applied_events (series, observed_at);
CREATE INDEX applied_events_amendments ON applied_events (received_at DESC)
    WHERE corrects IS NOT NULL OR retracts IS NOT NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON applied_events TO dx_aggregator;

-- What the pruned months leave behind (aggregates, one row per series-day or series-period, never per event): the
-- best event still in force that a recomputation after an amendment would have found among them. An amendment of an
-- event within the horizon recomputes a snapshot day, a period value or a bucket's last observation from the events
-- in force AND these rows, so that pruning never changes a value (services/aggregator/sql.py RECOMPUTE_*).
CREATE TABLE agg_snapshot_floor (
    indicator    text NOT NULL,
    unit         text NOT NULL,
    day          date NOT NULL,
    observed_at  timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    numerator    bigint,
    denominator  bigint,
    value        numeric,
    PRIMARY KEY (indicator, unit, day)
);
CREATE TABLE period_floor (
    indicator    text NOT NULL,
    unit         text NOT NULL,
    period       text NOT NULL,
    observed_at  timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    value        numeric,
    numerator    bigint,
    denominator  bigint,
    PRIMARY KEY (indicator, unit, period)
);
-- A bucket's floor is a column of its own row (a bucket with an event in force cannot be emptied, so the row stays):
-- a table keyed like agg_buckets cost ~145 B per commune-day, 26 MB for the history bench's 183,000, against 8 B.
ALTER TABLE agg_buckets ADD COLUMN floor_observed_at timestamptz;
-- The months pruned: `dx events show` and the refusal of an amendment whose original is gone say so.
CREATE TABLE pruned_event_months (
    month       date PRIMARY KEY,  -- first day (UTC) of the month of received_at
    events      bigint NOT NULL,
    bytes       bigint NOT NULL,   -- of the partition, heap and indexes, when it was detached
    pruned_at   timestamptz NOT NULL DEFAULT now(),
    kept_as     text               -- the detached table's name when it was kept (`dx events prune --keep`)
);
GRANT SELECT ON agg_snapshot_floor, period_floor, pruned_event_months TO dx_aggregator;
