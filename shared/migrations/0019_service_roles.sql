-- Least privilege per service (docs/database.md "Roles"). Each service connects as its own role, created with
-- its password by the bootstrap (deploy/local/postgres.sh, deploy/postgres/init-roles.sh); these are its grants,
-- and nothing else: a compromised collector can read credentials' hashes but write nothing, the aggregator cannot
-- mint tokens or touch alerts, the alerter cannot change what was applied. dx_app stays the operators' role (dx:
-- sources, dead-letter replays, corrections) with DML on every table (0001's default privileges), dx_grafana
-- reads. A table added later gets no service grant until its migration says so; tests/integration/
-- test_service_roles.py holds the expected matrix and attempts every statement it forbids.

-- collector: authenticates requests; it publishes to Kafka and writes no row.
GRANT SELECT ON sources TO dx_collector;

-- aggregator: applies events exactly once with their offsets, keeps the daily values and rollups, and rebuilds
-- its copy of the unit tree and lineage at start-up.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    applied_events, consumer_offsets, event_refusals, daily_values, current_values, period_values,
    agg_buckets, agg_snapshot_days, agg_snapshot_series, agg_unit_tree, agg_unit_lineage, agg_increment_sources,
    agg_rollup_pieces
    TO dx_aggregator;
GRANT SELECT ON units TO dx_aggregator;

-- alerter: reads the values and the aggregator's offsets (its backlog), writes statuses and alert state.
GRANT SELECT ON current_values, daily_values, period_values, consumer_offsets TO dx_alerter;
GRANT SELECT, INSERT, UPDATE, DELETE ON target_status, alerts, alert_history, alerter_lease TO dx_alerter;
GRANT USAGE, SELECT ON SEQUENCE alert_history_id_seq TO dx_alerter;

-- pull collector: its connectors' schedule, cursors, processed files and runs; it sends events through the
-- collector's HTTP API with a source token like any source.
GRANT SELECT, INSERT, UPDATE, DELETE ON pull_connectors, pull_files, pull_runs TO dx_pull;
GRANT USAGE, SELECT ON SEQUENCE pull_runs_id_seq TO dx_pull;
