"""The aggregator's Prometheus metrics (names in shared.names); served by shared/adapters/metrics.py."""

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from shared import names
from shared.adapters.lag import lag_gauge
from shared.adapters.metrics import service_registry

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60)
_BATCH_BUCKETS = (1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 20000)


class CountingHistogram:
    """A histogram that records many equal observations at once (a batch's events share a few received_at values),
    exposed like prometheus_client's (`_bucket`, `_count`, `_sum`); its `observe` takes one per call."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = (*buckets, float("inf"))
        self.counts = [0] * len(self.bounds)
        self.total = 0.0
        registry.register(self)

    def observe(self, value: float, count: int = 1) -> None:
        self.counts[bisect_left(self.bounds, value)] += count  # the first bucket with value <= le
        self.total += value * count

    def collect(self) -> Iterator[HistogramMetricFamily]:
        cumulative, buckets = 0, []
        for bound, count in zip(self.bounds, self.counts, strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))  # type: ignore[no-untyped-call]
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=self.total)


class AggregatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or service_registry()
        r = self.registry
        self.applied = Counter(names.M_EVENTS_APPLIED, "Events applied (counted once, ever)", registry=r)
        self.duplicates = Counter(names.M_EVENTS_DUPLICATE, "Events already applied, ignored", registry=r)
        self.deadlettered = Counter(
            names.M_EVENTS_DEADLETTERED, "Poison messages sent to the dead-letter topic", ["reason"], registry=r
        )
        self.batch_size = Histogram(names.M_BATCH_SIZE, "Messages per batch", buckets=_BATCH_BUCKETS, registry=r)
        self.transaction_seconds = Histogram(
            names.M_TRANSACTION_SECONDS, "Time of one batch's database transaction", registry=r
        )
        self.e2e_latency = CountingHistogram(
            names.M_E2E_LATENCY, "From received_at (collector) to the rollup commit", _LATENCY_BUCKETS, r
        )
        self.lag = lag_gauge(r)
        self.stopped = Gauge(
            names.M_PARTITION_STOPPED,
            "1 while a partition is not consumed: its stored offset is below the log start (events deleted unapplied)",
            ["topic", "partition"],
            registry=r,
        )
