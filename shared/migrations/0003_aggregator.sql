-- Aggregator: applied events, current and daily values at every level, and its internal state.
-- Every number that is summed is bigint or numeric, so totals are exact whatever the order of arrival.

-- Every event applied, once ever (event_id is the idempotency key); the source of truth for snapshots.
CREATE TABLE applied_events (
    event_id         uuid PRIMARY KEY,
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
    kafka_offset     bigint
);
-- "latest observation at or before a time" per (indicator, unit), ties broken by event_id.
CREATE INDEX applied_events_series ON applied_events (indicator, unit, observed_at DESC, event_id DESC);

-- The value now, one row per (indicator, unit) at every level (reporting unit and every rollup ancestor).
CREATE TABLE current_values (
    indicator           text NOT NULL,
    unit                text NOT NULL,
    level               text NOT NULL,
    numerator           numeric,
    denominator         numeric,
    value               numeric,
    reporting_children  int,
    children_in_force   int,
    coverage            double precision,
    last_observed_at    timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (indicator, unit)
);

-- The value as of the end of each local (Asia/Ho_Chi_Minh) day on which it changed, at every level.
CREATE TABLE daily_values (
    indicator    text NOT NULL,
    unit         text NOT NULL,
    day          date NOT NULL,
    value        numeric NOT NULL,
    numerator    numeric,
    denominator  numeric,
    coverage     double precision,
    PRIMARY KEY (indicator, unit, day)
);

-- Consumer offsets, written in the same transaction as the batch they follow (seeked to on assignment).
CREATE TABLE consumer_offsets (
    consumer_group  text NOT NULL,
    topic           text NOT NULL,
    partition       int NOT NULL,
    next_offset     bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Increment indicators: daily sums per (indicator, unit, local day) at the reporting unit AND at every
-- ancestor in force on that day (additive, so concurrent writers commute).
CREATE TABLE agg_buckets (
    indicator         text NOT NULL,
    unit              text NOT NULL,
    day               date NOT NULL,
    numerator         numeric NOT NULL,
    denominator       numeric NOT NULL,
    events            bigint NOT NULL,
    last_observed_at  timestamptz NOT NULL,
    PRIMARY KEY (indicator, unit, day)
);

-- The hierarchy flattened per version: every (ancestor, descendant) pair and the ancestor's direct child on the
-- path. Rebuilt by the aggregator at start-up from the shipped CSVs (no foreign keys: units is re-synced).
CREATE TABLE agg_unit_tree (
    version_from  date NOT NULL,
    ancestor      text NOT NULL,
    unit          text NOT NULL,
    child         text NOT NULL,
    PRIMARY KEY (version_from, ancestor, unit)
);
