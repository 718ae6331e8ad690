"""The collector's Prometheus metrics (docs/alerts-and-metrics.md), in a registry of their own per app."""

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared import names
from shared.adapters.lag import lag_gauge
from shared.adapters.metrics import service_registry

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class CollectorMetrics:
    """Counters by `source` and `reason` (the reason code of the event's first error)."""

    registry: CollectorRegistry = field(default_factory=service_registry)

    def __post_init__(self) -> None:
        r = self.registry
        self.received = Counter(names.M_EVENTS_RECEIVED, "Events received (HTTP, ingest topic)", ["source"], registry=r)
        self.accepted = Counter(names.M_EVENTS_ACCEPTED, "Events acknowledged by Kafka", ["source"], registry=r)
        self.rejected = Counter(names.M_EVENTS_REJECTED, "Events rejected", ["reason", "source"], registry=r)
        self.deadlettered = Counter(names.M_EVENTS_DEADLETTERED, "Messages dead-lettered", ["reason"], registry=r)
        self.publish_latency = Histogram(
            names.M_PUBLISH_LATENCY, "Time to get Kafka acks for one batch", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.lag = lag_gauge(r)  # the ingest consumer's group

    def count(self, source: str, received: int, accepted: int, rejected_reasons: list[str]) -> None:
        self.received.labels(source).inc(received)
        if accepted:
            self.accepted.labels(source).inc(accepted)
        for reason in rejected_reasons:
            self.rejected.labels(reason, source).inc()
