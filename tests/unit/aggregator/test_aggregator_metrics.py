"""The latency histogram takes a count per observation and is exposed exactly like prometheus_client's."""

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from services.aggregator.metrics import CountingHistogram

BUCKETS = (0.01, 0.1, 1.0)


def samples(registry: CollectorRegistry) -> list[str]:
    """The exposition without prometheus_client's `_created` series (on or off depending on the environment)."""
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_counted_observations_equal_as_many_single_ones():
    counted_registry, reference_registry = CollectorRegistry(), CollectorRegistry()
    counted = CountingHistogram("dx_latency_seconds", "latency", BUCKETS, counted_registry)
    reference = Histogram("dx_latency_seconds", "latency", buckets=BUCKETS, registry=reference_registry)
    for value, count in ((0.01, 2), (0.3, 5), (0.1, 1), (7.5, 3)):  # on a bound counts in that bucket (le)
        counted.observe(value, count)
        for _ in range(count):
            reference.observe(value)
    got = samples(counted_registry)
    assert got == samples(reference_registry)
    assert 'dx_latency_seconds_bucket{le="0.01"} 2.0' in got
    assert 'dx_latency_seconds_bucket{le="1.0"} 8.0' in got
    assert "dx_latency_seconds_count 11.0" in got
