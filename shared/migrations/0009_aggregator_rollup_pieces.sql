-- Every piece of history a value reads, flattened per (version, unit valued, level): agg_unit_tree × agg_unit_lineage,
-- plus each unit's own pieces (ancestor = member). Rebuilt by the aggregator at start-up with the other two.
-- Why: the value queries joined the tree to the lineage per batch (a hash join and, for the reporting-children count,
-- a sequential scan of the lineage per rollup spec: ~45 % of a batch's value queries on the bench workload); one index
-- range scan per spec now yields its pieces.
CREATE TABLE agg_rollup_pieces (
    version_from  date NOT NULL,
    ancestor      text NOT NULL,  -- the unit valued (a rollup, or the reporting unit itself)
    level         text NOT NULL,  -- the indicator's reporting level the pieces are of
    member        text NOT NULL,  -- the unit of that level the piece belongs to
    node          text NOT NULL,
    source        text NOT NULL,
    first_day     date NOT NULL,
    last_day      date NOT NULL,
    path          text[] NOT NULL,
    PRIMARY KEY (version_from, ancestor, level, member, node)
);

-- The first local day each (indicator, unit) has a snapshot observation, kept by triggers on agg_snapshot_days
-- whoever writes it. The value queries probe a piece's latest observation only where its source has one by then:
-- on the bench workload 78 % of the probes found nothing (predecessors and communes that never reported the
-- indicator). A row is never removed, so this can over-cover (an extra probe), never under-cover.
CREATE TABLE agg_snapshot_series (
    indicator  text NOT NULL,
    unit       text NOT NULL,
    first_day  date NOT NULL,
    PRIMARY KEY (indicator, unit)
);

INSERT INTO agg_snapshot_series (indicator, unit, first_day)
SELECT indicator, unit, min(day) FROM agg_snapshot_days GROUP BY indicator, unit;

CREATE FUNCTION agg_snapshot_series_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agg_snapshot_series (indicator, unit, first_day)
    SELECT indicator, unit, min(day) FROM written GROUP BY indicator, unit
    ORDER BY indicator, unit
    ON CONFLICT (indicator, unit) DO UPDATE SET first_day = EXCLUDED.first_day
    WHERE EXCLUDED.first_day < agg_snapshot_series.first_day;
    RETURN NULL;
END $$;

CREATE TRIGGER agg_snapshot_series_insert AFTER INSERT ON agg_snapshot_days
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION agg_snapshot_series_note();
CREATE TRIGGER agg_snapshot_series_update AFTER UPDATE ON agg_snapshot_days
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION agg_snapshot_series_note();
