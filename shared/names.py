"""Names other parts of the system rely on: consumer groups, ports, metric and alert names (docs/alerts-and-metrics.md).

Topic names, headers and the NOTIFY channel are in shared/contracts/topics.py."""

from typing import Final

# Consumer groups
GROUP_COLLECTOR_INGEST: Final = "collector-ingest"
GROUP_AGGREGATOR: Final = "aggregator"
GROUP_ALERTER: Final = "alerter"

# Default ports
PORT_COLLECTOR: Final = 8080
PORT_AGGREGATOR_METRICS: Final = 9101
PORT_ALERTER_METRICS: Final = 9102
PORT_PULL_METRICS: Final = 9103
PORT_KAFKA: Final = 9092
PORT_POSTGRES: Final = 5432
PORT_PROMETHEUS: Final = 9090
PORT_ALERTMANAGER: Final = 9093
PORT_GRAFANA: Final = 3000
PORT_ONCALL: Final = 9099
PORT_ONCALL_SMTP: Final = 2525

# Domain gauges, exported by the alerter
M_INDICATOR_VALUE: Final = "dx_indicator_value"
M_INDICATOR_COVERAGE: Final = "dx_indicator_coverage_ratio"
M_INDICATOR_LAST_OBSERVED: Final = "dx_indicator_last_observed_timestamp_seconds"
M_INDICATOR_CARRIED_FROM: Final = "dx_indicator_carried_from_units"  # reporting unit: predecessors its value is from
M_INDICATOR_REPORTING_CARRIED: Final = "dx_indicator_reporting_carried_units"  # rollup: carried reporting units
M_TARGET_VALUE: Final = "dx_target_value"
M_TARGET_EXPECTED: Final = "dx_target_expected"
M_TARGET_PROJECTED: Final = "dx_target_projected"
M_TARGET_STATUS: Final = "dx_target_status"
M_UNIT_INFO: Final = "dx_unit_info"

# Pipeline metrics. Counters are exported by prometheus-client with a `_total` suffix.
M_EVENTS_RECEIVED: Final = "dx_events_received"
M_EVENTS_ACCEPTED: Final = "dx_events_accepted"
M_EVENTS_REJECTED: Final = "dx_events_rejected"
M_EVENTS_DEADLETTERED: Final = "dx_events_deadlettered"
M_PUBLISH_LATENCY: Final = "dx_collector_publish_duration_seconds"
M_EVENTS_APPLIED: Final = "dx_aggregator_events_applied"
M_EVENTS_DUPLICATE: Final = "dx_aggregator_duplicates"
M_BATCH_SIZE: Final = "dx_aggregator_batch_size_messages"
M_TRANSACTION_SECONDS: Final = "dx_aggregator_transaction_duration_seconds"
M_E2E_LATENCY: Final = "dx_e2e_duration_seconds"
M_CONSUMER_LAG: Final = "dx_consumer_lag_messages"
M_PARTITION_STOPPED: Final = "dx_aggregator_partition_stopped"
M_ALERT_EVALUATIONS: Final = "dx_alert_evaluations"
M_ALERTS_FIRING: Final = "dx_alerts_firing"
M_ALERTS_HELD: Final = "dx_alerts_held"  # 1 while new alerts wait for the aggregator's backlog
M_AGGREGATOR_BACKLOG: Final = "dx_alerter_aggregator_backlog_messages"
M_CONNECTOR_RUNS: Final = "dx_connector_runs"
M_CONNECTOR_FETCHED: Final = "dx_connector_records_fetched"
M_CONNECTOR_ACCEPTED: Final = "dx_connector_records_accepted"
M_CONNECTOR_REJECTED: Final = "dx_connector_records_rejected"
M_CONNECTOR_LAST_SUCCESS: Final = "dx_connector_last_success_timestamp_seconds"
M_CONNECTOR_DURATION: Final = "dx_connector_run_duration_seconds"
M_CONNECTOR_FAILURES: Final = "dx_connector_consecutive_failures"
M_CONNECTOR_INTERVAL: Final = "dx_connector_interval_seconds"

# Alert names (docs/alerts-and-metrics.md)
ALERT_BEHIND: Final = "DxTargetBehind"
ALERT_AT_RISK: Final = "DxTargetAtRisk"
ALERT_MISSED: Final = "DxTargetMissed"
ALERT_STALE: Final = "DxIndicatorStale"
ALERT_HELD: Final = "DxAlertsHeld"
ALERT_CONNECTOR_FAILING: Final = "DxConnectorFailing"
ALERT_CONNECTOR_STALE: Final = "DxConnectorStale"

TIMEZONE: Final = "Asia/Ho_Chi_Minh"
PROVINCE_CODE: Final = "38"
