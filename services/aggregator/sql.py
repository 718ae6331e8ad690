"""The aggregator's SQL, in one place to read. Arrays come in through unnest; writes sort their keys."""

# Times are staged as microseconds since the epoch (prepare.copy_line says why).
CLEAR_STAGE = "TRUNCATE agg_stage"
LOCK_ONE = "SELECT pg_advisory_xact_lock($1)"
# The reference tables sync_tree rebuilds from the hierarchy.
CLEAR_TABLE = {t: f"DELETE FROM {t}" for t in ("agg_unit_tree", "agg_unit_lineage", "agg_increment_sources",
                                                "agg_rollup_pieces")}  # fmt: skip

CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS agg_stage (
    event_id uuid, indicator text, unit text, observed_us bigint, numerator bigint, denominator bigint,
    value numeric, source text, received_us bigint, kafka_partition int, kafka_offset bigint, period text
) ON COMMIT DELETE ROWS
"""

# DISTINCT ON drops duplicates inside the batch (the first by offset wins); NOT EXISTS drops those seen before, in
# any month still kept (applied_events is partitioned by received_at, shared/migrations/0023: its key has to hold
# received_at, so it no longer finds a resend received at another moment by itself). An event is identified by
# (source, event_id): another source's id never shadows it. The keys `source event_id` of the new events come back
# only when some were duplicates ($1 = rows staged): the common case sends none. $2: the first moment still kept
# (microseconds) when months were pruned: an event received before it cannot be told from a replay
# (docs/storage.md). The subquery is kept correlated (OFFSET 0: one probe of each month's key per staged row) so
# that the planner never hashes the whole table.
INSERT_EVENTS = """
WITH new AS (
INSERT INTO applied_events (event_id, indicator, unit, observed_at, numerator, denominator, value, source,
                            received_at, kafka_partition, kafka_offset, period)
SELECT DISTINCT ON (event_id, source) event_id, indicator, unit,
       timestamptz 'epoch' + observed_us * interval '1 microsecond', numerator, denominator, value, source,
       timestamptz 'epoch' + received_us * interval '1 microsecond', kafka_partition, kafka_offset, period
FROM agg_stage s
WHERE ($2::bigint IS NULL OR s.received_us >= $2)
  AND NOT EXISTS (SELECT 1 FROM applied_events a WHERE a.event_id = s.event_id AND a.source = s.source OFFSET 0)
ORDER BY event_id, source, kafka_partition, kafka_offset
RETURNING source, event_id
)
SELECT count(*)::int AS n, CASE WHEN count(*) < $1 THEN array_agg(source || ' ' || event_id::text) END AS ids
FROM new
"""

# The month of applied_events that holds events received on $1 (created if missing; shared/migrations/0023).
EVENT_PARTITION = "SELECT dx_event_partition($1::date)"

# Whether the staged batch holds any of these identities (source, event_id).
STAGES_ANY = """
SELECT EXISTS (SELECT 1 FROM agg_stage s JOIN unnest($1::text[], $2::uuid[]) AS k (source, event_id)
               ON s.event_id = k.event_id AND s.source = k.source)
"""

# The events of these identities (source, event_id), in offset order: a batch's new events when it held duplicates.
EVENTS_BY_IDENTITY = """
SELECT a.event_id, a.indicator, a.unit, a.observed_at, a.numerator, a.denominator, a.value, a.source, a.received_at,
       a.period
FROM unnest($1::text[], $2::uuid[]) AS k (source, event_id)
JOIN applied_events a ON a.event_id = k.event_id AND a.source = k.source
ORDER BY a.kafka_partition, a.kafka_offset
"""

# The staged copies that were not applied (duplicates of an applied event): into the audit of refusals.
REFUSE_DUPLICATES = """
INSERT INTO event_refusals (kafka_partition, kafka_offset, source, event_id, indicator, unit, reason, received_at)
SELECT s.kafka_partition, s.kafka_offset, s.source, s.event_id, s.indicator, s.unit,
       'duplicate: event_id: already applied from ' || a.kafka_partition || '@' || a.kafka_offset,
       timestamptz 'epoch' + s.received_us * interval '1 microsecond'
FROM agg_stage s
JOIN applied_events a ON a.source = s.source AND a.event_id = s.event_id
WHERE (a.kafka_partition, a.kafka_offset) IS DISTINCT FROM (s.kafka_partition, s.kafka_offset)
ORDER BY s.kafka_partition, s.kafka_offset
ON CONFLICT (kafka_partition, kafka_offset) DO NOTHING
"""

# The staged events received before $1 (microseconds), in the months pruned (dx events prune): refused with the
# reason $2 (shared/domain/horizon.py), never counted a second time.
REFUSE_BEYOND_HORIZON = """
INSERT INTO event_refusals (kafka_partition, kafka_offset, source, event_id, indicator, unit, reason, received_at)
SELECT s.kafka_partition, s.kafka_offset, s.source, s.event_id, s.indicator, s.unit,
       $2::text,
       timestamptz 'epoch' + s.received_us * interval '1 microsecond'
FROM agg_stage s
WHERE s.received_us < $1
ORDER BY s.kafka_partition, s.kafka_offset
ON CONFLICT (kafka_partition, kafka_offset) DO NOTHING
"""

# The latest snapshot observation per (indicator, unit, local day): a later one (observed_at, then event_id) wins.
ADD_SNAPSHOT_DAYS = """
INSERT INTO agg_snapshot_days (indicator, unit, day, observed_at, event_id, numerator, denominator, value)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::timestamptz[], $5::uuid[], $6::bigint[], $7::bigint[],
                     $8::numeric[])
ORDER BY 1, 2, 3
ON CONFLICT (indicator, unit, day) DO UPDATE SET
    observed_at = EXCLUDED.observed_at, event_id = EXCLUDED.event_id, numerator = EXCLUDED.numerator,
    denominator = EXCLUDED.denominator, value = EXCLUDED.value
WHERE (EXCLUDED.observed_at, EXCLUDED.event_id) > (agg_snapshot_days.observed_at, agg_snapshot_days.event_id)
"""

# The latest observation per (indicator, unit, reference period), as ADD_SNAPSHOT_DAYS per day.
ADD_PERIOD_VALUES = """
INSERT INTO period_values (indicator, unit, period, observed_at, event_id, value, numerator, denominator)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::uuid[], $6::numeric[],
                     $7::bigint[], $8::bigint[])
ORDER BY 1, 2, 3
ON CONFLICT (indicator, unit, period) DO UPDATE SET
    observed_at = EXCLUDED.observed_at, event_id = EXCLUDED.event_id, value = EXCLUDED.value,
    numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator
WHERE (EXCLUDED.observed_at, EXCLUDED.event_id) > (period_values.observed_at, period_values.event_id)
"""

ADD_BUCKETS = """
INSERT INTO agg_buckets (indicator, unit, day, numerator, denominator, events, last_observed_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[], $5::numeric[], $6::bigint[],
                     $7::timestamptz[])
ORDER BY 1, 2, 3
ON CONFLICT (indicator, unit, day) DO UPDATE SET
    numerator = agg_buckets.numerator + EXCLUDED.numerator,
    denominator = agg_buckets.denominator + EXCLUDED.denominator,
    events = agg_buckets.events + EXCLUDED.events,
    last_observed_at = GREATEST(agg_buckets.last_observed_at, EXCLUDED.last_observed_at)
"""

LATER_ROWS = """
SELECT DISTINCT d.indicator, d.unit, d.day
FROM unnest($1::text[], $2::text[], $3::date[], $4::date[]) AS k(indicator, unit, after, until)
JOIN daily_values d ON d.indicator = k.indicator AND d.unit = k.unit AND d.day > k.after AND d.day < k.until
"""

LOCK_SERIES = """
SELECT pg_advisory_xact_lock(u.k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, i) ORDER BY u.i
"""

# A reporting unit's value on a day it has an observation of its own is that day's latest (agg_snapshot_days): its
# own piece is kept and supersedes every carried one (SNAPSHOT_SUMS_PER_DAY's rule), and the latest on or before the
# day is the day's. The same columns as the general forms, looked up by key: in a backfill nearly every reporting
# unit's spec is such a day, and the general forms cost ~55 µs per spec (bench/README.md).
OWN_SNAPSHOT_DAYS = """
SELECT a.indicator, a.unit, a.day, a.numerator::numeric AS num, a.denominator::numeric AS den, a.value AS val,
       1 AS children, 1 AS own, 0 AS carried, a.observed_at AS last
FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::date[])) AS k(indicator, unit, day)
JOIN agg_snapshot_days a ON a.indicator = k.indicator AND a.unit = k.unit AND a.day = k.day
"""

# Per spec, on its own day: each member's value from the pieces of its history (agg_unit_lineage, docs/lineage.md):
# the latest observation of each piece on or before the spec's day, kept unless a node on its path has one of its own
# (a unit's own observation supersedes what its predecessors carried), summed. Members are the units at the
# indicator's level under a rollup in its version; a reporting unit is its own only member. For series of one day
# (live traffic): 87 ms for 835 specs, where SNAPSHOT_SUMS below takes 370 ms with its staging.
SNAPSHOT_SUMS_PER_DAY = """
WITH k AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::bool[], $6::text[])
        AS k(indicator, unit, day, version_from, is_leaf, level)
), found AS (
    SELECT k.indicator, k.unit, k.day, s.member, s.node, s.path, e.numerator, e.denominator, e.value, e.observed_at
    FROM k
    JOIN agg_rollup_pieces s ON s.version_from = k.version_from AND s.ancestor = k.unit AND s.level = k.level
    JOIN agg_snapshot_series o  -- only pieces whose source has an observation by then (migration 0009)
      ON o.indicator = k.indicator AND o.unit = s.source AND o.first_day <= LEAST(s.last_day, k.day)
    CROSS JOIN LATERAL (
        SELECT a.numerator, a.denominator, a.value, a.observed_at
        FROM agg_snapshot_days a
        WHERE a.indicator = k.indicator AND a.unit = s.source AND a.day BETWEEN s.first_day AND LEAST(s.last_day, k.day)
        ORDER BY a.day DESC
        LIMIT 1
    ) e
    WHERE s.first_day <= k.day
), kept AS (
    SELECT * FROM (
        SELECT f.*, array_agg(f.node) OVER (PARTITION BY f.indicator, f.unit, f.day, f.member) AS observed_nodes
        FROM found f
    ) f
    WHERE NOT f.path && f.observed_nodes
)
SELECT indicator, unit, day, sum(numerator)::numeric AS num, sum(denominator)::numeric AS den, sum(value) AS val,
       count(DISTINCT member)::int AS children, count(DISTINCT member) FILTER (WHERE path = '{}')::int AS own,
       count(*) FILTER (WHERE path <> '{}')::int AS carried, max(observed_at) AS last
FROM kept
GROUP BY indicator, unit, day
"""

# The same values for series of several days (a batch's days of one series in one version: weeks of them in a
# backfill), valued together:
# every member on the first day, then a member again only on the days one of its pieces has an observation (the only
# days its value can change), and each day's rollup is the running sum of those changes. So a batch probes each piece
# once per series, not once per day: the per-day form probes 1,266 pieces for each of ~50 province days per batch.
# A member's last observation never goes back in time as its days advance (a later observation, or an own one that
# supersedes carried ones, is later), so the rollup's is the running max. tests/integration/
# test_snapshot_sums_equivalence.py checks the result equals SNAPSHOT_SUMS_PER_DAY's on random histories.
# The pieces of each series go to a temporary table with fresh statistics first: as a CTE the planner estimated
# one row for 34,000 (a join on three columns) and joined it to itself in a nested loop, 98 s for one batch.
CREATE_SERIES_PIECES = """
CREATE TEMP TABLE IF NOT EXISTS agg_series_pieces (
    indicator text, unit text, version_from date, level text, lo date, hi date, member text, node text,
    source text, first_day date, last_day date, path text[], seen_from date
) ON COMMIT DELETE ROWS
"""

# The pieces of each series whose source has an observation by its last day (migration 0009).
SERIES_PIECES = """
INSERT INTO agg_series_pieces
WITH k AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::bool[], $6::text[])
        AS k(indicator, unit, day, version_from, is_leaf, level)
), g AS (
    SELECT indicator, unit, version_from, level, min(day) AS lo, max(day) AS hi
    FROM k GROUP BY indicator, unit, version_from, level
)
SELECT g.indicator, g.unit, g.version_from, g.level, g.lo, g.hi, s.member, s.node, s.source, s.first_day,
       s.last_day, s.path, o.first_day
FROM g
JOIN agg_rollup_pieces s ON s.version_from = g.version_from AND s.ancestor = g.unit AND s.level = g.level
JOIN agg_snapshot_series o ON o.indicator = g.indicator AND o.unit = s.source AND o.first_day <= LEAST(s.last_day, g.hi)
WHERE s.first_day <= g.hi
"""

# The values, from the series' pieces in agg_series_pieces (SERIES_PIECES, same arguments).
SNAPSHOT_SUMS = """
WITH k AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::bool[], $6::text[])
        AS k(indicator, unit, day, version_from, is_leaf, level)
), member_day AS (  -- the days a member's value is worked out: the first, then each day a piece has an observation
    SELECT DISTINCT indicator, unit, version_from, level, member, lo AS day FROM agg_series_pieces
    UNION
    SELECT p.indicator, p.unit, p.version_from, p.level, p.member, a.day
    FROM agg_series_pieces p JOIN agg_snapshot_days a ON a.indicator = p.indicator AND a.unit = p.source
     AND a.day > p.lo AND a.day >= p.first_day AND a.day <= LEAST(p.last_day, p.hi)
), found AS (
    SELECT m.indicator, m.unit, m.version_from, m.level, m.member, m.day, p.node, p.path,
           e.numerator, e.denominator, e.value, e.observed_at
    FROM member_day m
    JOIN agg_series_pieces p ON p.indicator = m.indicator AND p.unit = m.unit AND p.version_from = m.version_from
      AND p.level = m.level AND p.member = m.member AND p.first_day <= m.day AND p.seen_from <= LEAST(p.last_day, m.day)
    CROSS JOIN LATERAL (
        SELECT a.numerator, a.denominator, a.value, a.observed_at
        FROM agg_snapshot_days a
        WHERE a.indicator = m.indicator AND a.unit = p.source AND a.day BETWEEN p.first_day AND LEAST(p.last_day, m.day)
        ORDER BY a.day DESC
        LIMIT 1
    ) e
), kept AS (
    SELECT * FROM (
        SELECT f.*, array_agg(f.node) OVER (PARTITION BY f.indicator, f.unit, f.version_from, f.level, f.member,
                                                         f.day) AS observed_nodes
        FROM found f
    ) f
    WHERE NOT f.path && f.observed_nodes
), member_value AS (  -- counts of non-NULL terms, so that a sum of none stays NULL
    SELECT indicator, unit, version_from, level, member, day,
           coalesce(sum(numerator), 0)::numeric AS num, count(numerator) AS nums,
           coalesce(sum(denominator), 0)::numeric AS den, count(denominator) AS dens,
           coalesce(sum(value), 0) AS val, count(value) AS vals,
           1 AS children, bool_or(path = '{}')::int AS own, count(*) FILTER (WHERE path <> '{}') AS carried,
           max(observed_at) AS last
    FROM kept
    GROUP BY indicator, unit, version_from, level, member, day
), change AS (  -- a member's value less its previous one; the spec days join in with nothing to add
    SELECT indicator, unit, version_from, level, day, false AS is_spec, last,
           num - coalesce(lag(num) OVER w, 0) AS num, nums - coalesce(lag(nums) OVER w, 0) AS nums,
           den - coalesce(lag(den) OVER w, 0) AS den, dens - coalesce(lag(dens) OVER w, 0) AS dens,
           val - coalesce(lag(val) OVER w, 0) AS val, vals - coalesce(lag(vals) OVER w, 0) AS vals,
           children - coalesce(lag(children) OVER w, 0) AS children, own - coalesce(lag(own) OVER w, 0) AS own,
           carried - coalesce(lag(carried) OVER w, 0) AS carried
    FROM member_value
    WINDOW w AS (PARTITION BY indicator, unit, version_from, level, member ORDER BY day)
    UNION ALL
    SELECT indicator, unit, version_from, level, day, true, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM k
), running AS (  -- on each spec day, the changes up to it (same day included: false sorts first), summed
    SELECT indicator, unit, day, is_spec,
           sum(num) OVER r AS num, sum(nums) OVER r AS nums, sum(den) OVER r AS den, sum(dens) OVER r AS dens,
           sum(val) OVER r AS val, sum(vals) OVER r AS vals, sum(children) OVER r AS children,
           sum(own) OVER r AS own, sum(carried) OVER r AS carried, max(last) OVER r AS last
    FROM change
    WINDOW r AS (PARTITION BY indicator, unit, version_from, level ORDER BY day, is_spec)
)
SELECT indicator, unit, day, CASE WHEN nums > 0 THEN num END AS num, CASE WHEN dens > 0 THEN den END AS den,
       CASE WHEN vals > 0 THEN val END AS val, children::int AS children, own::int AS own, carried::int AS carried,
       last
FROM running
WHERE is_spec AND children > 0
"""

# agg_unit_tree × agg_unit_lineage once per start-up: a rollup's pieces are those of its members; a unit of the level
# is its own only member.
FLATTEN_PIECES = """
INSERT INTO agg_rollup_pieces (version_from, ancestor, level, member, node, source, first_day, last_day, path)
SELECT t.version_from, t.ancestor, l.level, t.unit, l.node, l.source, l.first_day, l.last_day, l.path
FROM agg_unit_tree t JOIN agg_unit_lineage l ON l.version_from = t.version_from AND l.unit = t.unit
UNION ALL
SELECT l.version_from, l.unit, l.level, l.unit, l.node, l.source, l.first_day, l.last_day, l.path
FROM agg_unit_lineage l
"""

# Per spec: sign × the buckets of its increment sources (agg_increment_sources) in the window ∩ each source's days.
# Reporting children of a rollup: its members at the indicator's level with a bucket of their history in the window
# (own: of their own); the carried pieces of a reporting unit: its predecessors with a bucket in the window.
INCREMENT_SUMS = """
WITH k AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::date[], $6::date[], $7::bool[],
                         $8::text[])
        AS k(indicator, unit, day, version_from, lo_day, hi_day, is_leaf, level)
), pieces AS (
    SELECT k.indicator, k.unit, k.day, i.sign, i.own, x.num, x.den, x.last
    FROM k
    JOIN agg_increment_sources i ON i.version_from = k.version_from AND i.unit = k.unit AND i.level = k.level
    CROSS JOIN LATERAL (
        SELECT sum(b.numerator) AS num, sum(b.denominator) AS den, max(b.last_observed_at) AS last
        FROM agg_buckets b
        WHERE b.indicator = k.indicator AND b.unit = i.source
          AND b.day BETWEEN GREATEST(k.lo_day, i.first_day) AND LEAST(k.hi_day, i.last_day)
    ) x
    WHERE i.first_day <= k.hi_day AND i.last_day >= k.lo_day
), sums AS (
    SELECT indicator, unit, day, sum(sign * num) AS num, sum(sign * den) AS den,
           max(last) FILTER (WHERE sign > 0) AS last,
           count(*) FILTER (WHERE NOT own AND sign > 0 AND den IS NOT NULL)::int AS carried
    FROM pieces
    GROUP BY indicator, unit, day
    HAVING count(den) FILTER (WHERE sign > 0) > 0
)
SELECT k.indicator, k.unit, k.day, s.num, s.den, NULL::numeric AS val, s.last, s.carried,
       coalesce(c.children, 0) AS children, coalesce(c.own, 0) AS own
FROM k
JOIN sums s ON (s.indicator, s.unit, s.day) = (k.indicator, k.unit, k.day)
LEFT JOIN LATERAL (
    SELECT count(*)::int AS children, count(*) FILTER (WHERE r.own)::int AS own
    FROM (
        SELECT l.member, bool_or(l.path = '{}') AS own
        FROM agg_rollup_pieces l
        CROSS JOIN LATERAL (  -- LIMIT keeps this a per-piece index probe (not a semi-join on the day range)
            SELECT 1 FROM agg_buckets c
            WHERE c.indicator = k.indicator AND c.unit = l.source
              AND c.day BETWEEN GREATEST(k.lo_day, l.first_day) AND LEAST(k.hi_day, l.last_day)
            LIMIT 1
        ) x
        WHERE l.version_from = k.version_from AND l.ancestor = k.unit AND l.level = k.level
          AND l.first_day <= k.hi_day AND l.last_day >= k.lo_day
        GROUP BY l.member
    ) r
) c ON NOT k.is_leaf
"""

UPSERT_DAILY = """
INSERT INTO daily_values (indicator, unit, day, value, numerator, denominator, coverage)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[], $5::numeric[], $6::numeric[],
                     $7::float8[])
ORDER BY 1, 2, 3
ON CONFLICT (indicator, unit, day) DO UPDATE SET
    value = EXCLUDED.value, numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator,
    coverage = EXCLUDED.coverage
WHERE (daily_values.value, daily_values.numerator, daily_values.denominator, daily_values.coverage)
      IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.numerator, EXCLUDED.denominator, EXCLUDED.coverage)
"""

# updated_at is when the row is written (clock_timestamp(), not now(): the transaction's start, which a backlog's
# transaction, or one that waited for the previous commit, reached seconds before its values).
UPSERT_CURRENT = """
INSERT INTO current_values (indicator, unit, level, numerator, denominator, value, reporting_children,
                            children_in_force, coverage, last_observed_at, carried_from, reporting_carried, updated_at)
SELECT u.*, clock_timestamp()
FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
            $7::int[], $8::int[], $9::float8[], $10::timestamptz[], $11::int[], $12::int[]) AS u
ORDER BY 1, 2
ON CONFLICT (indicator, unit) DO UPDATE SET
    level = EXCLUDED.level, numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator,
    value = EXCLUDED.value, reporting_children = EXCLUDED.reporting_children,
    children_in_force = EXCLUDED.children_in_force, coverage = EXCLUDED.coverage,
    last_observed_at = EXCLUDED.last_observed_at, carried_from = EXCLUDED.carried_from,
    reporting_carried = EXCLUDED.reporting_carried, updated_at = EXCLUDED.updated_at
WHERE (current_values.numerator, current_values.denominator, current_values.value,
       current_values.reporting_children, current_values.children_in_force, current_values.coverage,
       current_values.last_observed_at, current_values.level, current_values.carried_from,
       current_values.reporting_carried)
      IS DISTINCT FROM (EXCLUDED.numerator, EXCLUDED.denominator, EXCLUDED.value, EXCLUDED.reporting_children,
                        EXCLUDED.children_in_force, EXCLUDED.coverage, EXCLUDED.last_observed_at, EXCLUDED.level,
                        EXCLUDED.carried_from, EXCLUDED.reporting_carried)
RETURNING *
"""

SAVE_OFFSETS = """
INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
SELECT $1, $2, u.p, u.o FROM unnest($3::int[], $4::bigint[]) AS u(p, o)
ORDER BY u.p
ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
    next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()
"""

STORED_OFFSETS = """
SELECT partition, next_offset FROM consumer_offsets
WHERE consumer_group = $1 AND topic = $2 AND partition = ANY($3::int[])
"""

# Increment values drift as days leave the trailing window: the series to re-evaluate periodically.
INCREMENT_SERIES = """
SELECT c.indicator, c.unit FROM current_values c WHERE c.indicator = ANY($1::text[]) ORDER BY 1, 2
"""

# Days an increment value changes with no event: a bucket leaves the 365-day window the day after its 365th day,
# and a rollup's window restarts when a hierarchy version begins ($3). Those with no daily row yet ($2: today), at
# most $4 per refresh: a database that predates these rows catches up over a few refreshes instead of one long one.
INCREMENT_CHANGE_DAYS = """
WITH c AS (
    SELECT DISTINCT b.indicator, b.unit, b.day + 365 AS day
    FROM agg_buckets b WHERE b.indicator = ANY($1::text[]) AND b.day + 365 <= $2
    UNION
    SELECT c.indicator, c.unit, v.day
    FROM current_values c CROSS JOIN unnest($3::date[]) AS v(day)
    WHERE c.indicator = ANY($1::text[]) AND c.reporting_children IS NOT NULL AND v.day <= $2
      AND EXISTS (SELECT 1 FROM agg_buckets b WHERE b.indicator = c.indicator AND b.unit = c.unit AND b.day < v.day)
)
SELECT c.indicator, c.unit, c.day FROM c
WHERE NOT EXISTS (
    SELECT 1 FROM daily_values d WHERE d.indicator = c.indicator AND d.unit = c.unit AND d.day = c.day)
  -- only where a value is computed (the unit in force that day): a day of a vanished unit would stay listed on
  -- every refresh and, once more than $4 piled up, starve every later day of its row
  AND EXISTS (
    SELECT 1 FROM units u
    WHERE u.code = c.unit AND u.valid_from <= c.day AND (u.valid_to IS NULL OR c.day < u.valid_to))
ORDER BY 3, 1, 2
LIMIT $4
"""

# Corrections and retractions (services/aggregator/amend.py): the events amendments name, of their own source,
# locked (in key order) so that two amendments of one event are judged one after the other.
AMENDED_EVENTS = """
SELECT a.event_id, a.indicator, a.unit, a.observed_at, a.numerator, a.denominator, a.value, a.source, a.received_at,
       a.period, a.retracts, a.replaced_by, a.kafka_partition, a.kafka_offset
FROM applied_events a
JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::uuid[]) AS k (source, event_id)) k
  ON a.source = k.source AND a.event_id = k.event_id
ORDER BY a.source, a.event_id
FOR UPDATE OF a
"""

APPLIED_AMONG = """
SELECT a.source, a.event_id
FROM applied_events a
JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::uuid[]) AS k (source, event_id)) k
  ON a.source = k.source AND a.event_id = k.event_id
"""

APPLIED_ELSEWHERE = """
SELECT EXISTS (SELECT 1 FROM applied_events WHERE event_id = $1 AND source <> $2)
"""

# The first day (UTC) of the months still kept: the one after the latest pruned month (dx events prune).
KEPT_FROM = "SELECT (max(month) + interval '1 month')::date FROM pruned_event_months"

INSERT_AMENDMENT = """
INSERT INTO applied_events (event_id, indicator, unit, observed_at, numerator, denominator, value, source,
                            received_at, kafka_partition, kafka_offset, period, corrects, retracts, operator)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
"""

MARK_REPLACED = """
UPDATE applied_events SET replaced_by = $3, replaced_at = now() WHERE source = $1 AND event_id = $2
"""

REFUSE = """
INSERT INTO event_refusals (kafka_partition, kafka_offset, source, event_id, indicator, unit, reason, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (kafka_partition, kafka_offset) DO NOTHING
"""

# An amendment's effect on buckets is exact arithmetic; a bucket left with no event is removed, as if never sent.
DROP_EMPTY_BUCKETS = """
DELETE FROM agg_buckets b
USING unnest($1::text[], $2::text[], $3::date[]) AS k(indicator, unit, day)
WHERE b.indicator = k.indicator AND b.unit = k.unit AND b.day = k.day AND b.events = 0
"""

# Snapshot days and period values an amendment touched are recomputed from the events in force (neither a retraction
# nor replaced): the latest by observed_at, then event_id, as ADD_SNAPSHOT_DAYS and ADD_PERIOD_VALUES keep.
DROP_SNAPSHOT_DAYS = """
DELETE FROM agg_snapshot_days d
USING unnest($1::text[], $2::text[], $3::date[]) AS k(indicator, unit, day)
WHERE d.indicator = k.indicator AND d.unit = k.unit AND d.day = k.day
"""

# One lateral lookup per key (the series index, then the floor's key): as a join of the keys with a UNION ALL of
# applied_events and the floor, the planner hashed the whole table (3.3 s for 116 keys in a 200,000-event benchmark
# run, against ~30 ms).
RECOMPUTE_SNAPSHOT_DAYS = """
INSERT INTO agg_snapshot_days (indicator, unit, day, observed_at, event_id, numerator, denominator, value)
SELECT k.indicator, k.unit, k.day, c.observed_at, c.event_id, c.numerator, c.denominator, c.value
FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::date[])) AS k(indicator, unit, day)
CROSS JOIN LATERAL (
    SELECT a.observed_at, a.event_id, a.numerator, a.denominator, a.value
    FROM applied_events a
    WHERE a.series = dx_series(k.indicator, k.unit) AND a.indicator = k.indicator AND a.unit = k.unit
      AND a.observed_at >= k.day::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND a.observed_at < (k.day + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND a.retracts IS NULL AND a.replaced_by IS NULL
    UNION ALL  -- the best of the months pruned (dx events prune)
    SELECT f.observed_at, f.event_id, f.numerator, f.denominator, f.value
    FROM agg_snapshot_floor f WHERE f.indicator = k.indicator AND f.unit = k.unit AND f.day = k.day
    ORDER BY 1 DESC, 2 DESC
    LIMIT 1
) c
"""

DROP_PERIOD_VALUES = """
DELETE FROM period_values p
USING unnest($1::text[], $2::text[], $3::text[]) AS k(indicator, unit, period)
WHERE p.indicator = k.indicator AND p.unit = k.unit AND p.period = k.period
"""

RECOMPUTE_PERIOD_VALUES = """
INSERT INTO period_values (indicator, unit, period, observed_at, event_id, value, numerator, denominator)
SELECT k.indicator, k.unit, k.period, c.observed_at, c.event_id, c.value, c.numerator, c.denominator
FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[])) AS k(indicator, unit, period)
CROSS JOIN LATERAL (  -- as RECOMPUTE_SNAPSHOT_DAYS
    SELECT a.observed_at, a.event_id, a.value, a.numerator, a.denominator
    FROM applied_events a
    WHERE a.series = dx_series(k.indicator, k.unit) AND a.indicator = k.indicator AND a.unit = k.unit
      AND a.period = k.period AND a.retracts IS NULL AND a.replaced_by IS NULL
    UNION ALL  -- the best of the months pruned (dx events prune)
    SELECT f.observed_at, f.event_id, f.value, f.numerator, f.denominator
    FROM period_floor f WHERE f.indicator = k.indicator AND f.unit = k.unit AND f.period = k.period
    ORDER BY 1 DESC, 2 DESC
    LIMIT 1
) c
"""

# A bucket's last observation after an amendment: a reporting unit's from its events in force that day, an
# ancestor's from its direct children's buckets (updated first, nearest the reporting unit first).
BUCKET_LAST_OF_EVENTS = """
UPDATE agg_buckets b SET last_observed_at = greatest(x.last, b.floor_observed_at)  -- floor: the months pruned
FROM (
    SELECT max(a.observed_at) AS last FROM applied_events a
    WHERE a.series = dx_series($1, $2) AND a.indicator = $1 AND a.unit = $2 AND a.retracts IS NULL
      AND a.replaced_by IS NULL
      AND a.observed_at >= $3::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND a.observed_at < ($3::date + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
) x
WHERE b.indicator = $1 AND b.unit = $2 AND b.day = $3 AND (x.last IS NOT NULL OR b.floor_observed_at IS NOT NULL)
"""

# One key lookup per direct child (a subquery per child): as a semi-join, the generic plan scanned every bucket of
# the indicator: 244–330 ms over ~50 calls in a 120,000-event benchmark run (up to 60 ms a call); now 7 ms in all.
BUCKET_LAST_OF_CHILDREN = """
UPDATE agg_buckets b SET last_observed_at = x.last
FROM (
    SELECT max((SELECT c.last_observed_at FROM agg_buckets c
                WHERE c.indicator = $1 AND c.unit = t.child AND c.day = $3)) AS last
    FROM (SELECT DISTINCT t.child FROM agg_unit_tree t WHERE t.version_from = $4 AND t.ancestor = $2) t
) x
WHERE b.indicator = $1 AND b.unit = $2 AND b.day = $3 AND x.last IS NOT NULL
"""
