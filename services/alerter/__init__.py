"""The alerter: target statuses, domain gauges and alerts to Alertmanager (issue 5)."""
