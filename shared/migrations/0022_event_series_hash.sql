-- Aggregator speed (bench/README.md): the index that finds a series' events (the events in force of a unit-day
-- after an amendment, `dx events list`) is keyed by a 64-bit hash of (indicator, unit) instead of the two texts.
-- On 20,000 inserted rows over 200,000 it cost +160 ms as (indicator, unit, observed_at) and +85 ms as
-- (series, observed_at), over ~120 ms for the heap and the primary key. Every query that uses it also compares
-- indicator and unit, so a hash collision only reads a few more rows.
CREATE FUNCTION dx_series(indicator text, unit text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN hashtextextended(indicator || ':' || unit, 0);
ALTER TABLE applied_events ADD COLUMN series bigint GENERATED ALWAYS AS (dx_series(indicator, unit)) STORED;
DROP INDEX applied_events_series;
CREATE INDEX applied_events_series ON applied_events (series, observed_at);
