"""The snapshot value query in its per-day form (services/aggregator/sql.py before the series were valued
together): each spec probes every piece on its own day. Kept as the reference the batched query must equal."""

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
