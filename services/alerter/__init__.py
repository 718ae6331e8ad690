"""The alerter: target statuses, domain gauges and alerts to Alertmanager (docs/alerts-and-metrics.md)."""
