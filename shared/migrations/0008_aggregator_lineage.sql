-- Unit lineage across hierarchy versions (docs/lineage.md): a unit is (code, version) and its history is its own
-- observations plus what its predecessors carried to it. Both tables are rebuilt by the aggregator at start-up from
-- the shipped units and lineage files, like agg_unit_tree.

-- The pieces of each unit's history: the observations of `source` dated in [first_day, last_day] (the days of the
-- source's version), reached through `path` (the nodes code@valid_from from the unit down to, not including, the
-- source; empty for its own observations). A snapshot piece counts only while no node on its path has an observation
-- of its own: a unit's own observation supersedes what its predecessors carried.
CREATE TABLE agg_unit_lineage (
    version_from  date NOT NULL,
    unit          text NOT NULL,
    level         text NOT NULL,
    source        text NOT NULL,
    node          text NOT NULL,  -- source@valid_from of the source's version
    first_day     date NOT NULL,
    last_day      date NOT NULL,
    path          text[] NOT NULL,
    PRIMARY KEY (version_from, unit, node)
);

-- The buckets that make up each unit's increment history for indicators reported at `level`: sign × the buckets
-- of `source` on the days [first_day, last_day] (a rollup's own buckets, corrected so that it equals the sum of its
-- reporting units' histories).
CREATE TABLE agg_increment_sources (
    version_from  date NOT NULL,
    unit          text NOT NULL,
    level         text NOT NULL,
    source        text NOT NULL,
    first_day     date NOT NULL,
    last_day      date NOT NULL,
    sign          smallint NOT NULL,
    own           boolean NOT NULL,
    PRIMARY KEY (version_from, unit, level, source, first_day)
);

-- Carried values are marked: a reporting unit's value carried from N predecessor units (0: its own), a rollup's
-- reporting units whose value is carried (the rest of reporting_children report themselves).
ALTER TABLE current_values ADD COLUMN carried_from int, ADD COLUMN reporting_carried int;
