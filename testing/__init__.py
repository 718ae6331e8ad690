"""Test and benchmark harness (throw-away sandboxes, service processes, dashboard inspection); not installed."""
