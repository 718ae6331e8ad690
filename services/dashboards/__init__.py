"""Grafana dashboards as code (grafana-foundation-sdk): `build_all()` gives every dashboard as JSON-ready dicts."""
