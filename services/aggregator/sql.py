"""The aggregator's SQL, in one place to read. Arrays come in through unnest; writes sort their keys."""

# Times are staged as microseconds since the epoch (prepare.copy_line says why).
CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS agg_stage (
    event_id uuid, indicator text, unit text, observed_us bigint, numerator bigint, denominator bigint,
    value numeric, source text, received_us bigint, kafka_partition int, kafka_offset bigint
) ON COMMIT DELETE ROWS
"""

# DISTINCT ON drops duplicates inside the batch (the first by offset wins); ON CONFLICT drops those seen before.
# The ids of the new events come back only when some were duplicates ($1 = rows staged): the common case sends none.
INSERT_EVENTS = """
WITH new AS (
INSERT INTO applied_events (event_id, indicator, unit, observed_at, numerator, denominator, value, source,
                            received_at, kafka_partition, kafka_offset)
SELECT DISTINCT ON (event_id) event_id, indicator, unit, timestamptz 'epoch' + observed_us * interval '1 microsecond',
       numerator, denominator, value, source, timestamptz 'epoch' + received_us * interval '1 microsecond',
       kafka_partition, kafka_offset
FROM agg_stage
ORDER BY event_id, kafka_partition, kafka_offset
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
)
SELECT count(*)::int AS n, CASE WHEN count(*) < $1 THEN array_agg(event_id) END AS ids FROM new
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

# Per spec: each member's value from the pieces of its history (agg_unit_lineage, docs/lineage.md): the latest
# observation of each piece on or before the spec's day, kept unless a node on its path has one of its own (a unit's
# own observation supersedes what its predecessors carried), summed. Members are the units at the indicator's level
# under a rollup in its version; a reporting unit is its own only member.
SNAPSHOT_SUMS = """
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

UPSERT_CURRENT = """
INSERT INTO current_values (indicator, unit, level, numerator, denominator, value, reporting_children,
                            children_in_force, coverage, last_observed_at, carried_from, reporting_carried, updated_at)
SELECT u.*, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
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
ORDER BY 3, 1, 2
LIMIT $4
"""
