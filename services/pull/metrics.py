"""The pull collector's Prometheus metrics, one series per connector (names in shared.names; served by
shared/adapters/metrics.py)."""

from prometheus_client import Counter, Gauge, Histogram

from shared import names
from shared.adapters.metrics import service_registry

_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class PullMetrics:
    def __init__(self) -> None:
        self.registry = service_registry()
        r = self.registry
        self.runs = Counter(names.M_CONNECTOR_RUNS, "connector runs by outcome (ok, failed, lost)",
                            ["connector", "outcome"], registry=r)  # fmt: skip
        self.fetched = Counter(names.M_CONNECTOR_FETCHED, "records fetched from the source", ["connector"], registry=r)
        self.accepted = Counter(names.M_CONNECTOR_ACCEPTED, "events the collector accepted", ["connector"], registry=r)
        self.rejected = Counter(names.M_CONNECTOR_REJECTED, "records rejected (locally or by the collector), "
                                "dead-lettered", ["connector"], registry=r)  # fmt: skip
        self.last_success = Gauge(names.M_CONNECTOR_LAST_SUCCESS, "end of the last successful run (0: never)",
                                  ["connector"], registry=r)  # fmt: skip
        self.duration = Histogram(names.M_CONNECTOR_DURATION, "run duration", ["connector"],
                                  buckets=_DURATION_BUCKETS, registry=r)  # fmt: skip
        self.failures = Gauge(names.M_CONNECTOR_FAILURES, "failed runs in a row (0 after a success)",
                              ["connector"], registry=r)  # fmt: skip
        self.deadlettered = Counter(names.M_EVENTS_DEADLETTERED, "records dead-lettered, by reason code", ["reason"],
                                    registry=r)  # fmt: skip
        self.interval = Gauge(names.M_CONNECTOR_INTERVAL, "time between two scheduled ticks", ["connector"],
                              registry=r)  # fmt: skip

    def declare(self, connector: str, interval_s: float, last_success: float, failures: int) -> None:
        """Every series of a connector exists from start-up (an alert on a missing series would never fire)."""
        for outcome in ("ok", "failed", "lost"):
            self.runs.labels(connector, outcome)
        for counter in (self.fetched, self.accepted, self.rejected):
            counter.labels(connector)
        self.duration.labels(connector)
        self.interval.labels(connector).set(interval_s)
        self.last_success.labels(connector).set(last_success)
        self.failures.labels(connector).set(failures)
