"""The latency histogram takes a count per observation and is exposed exactly like prometheus_client's."""

import asyncio

import pytest
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


async def test_the_metrics_endpoint_binds_the_configured_host(monkeypatch) -> None:
    """It bound 0.0.0.0 whatever the settings said; now DX_AGGREGATOR_METRICS_HOST, default loopback."""
    import services.aggregator.main as aggregator_main
    from services.aggregator.settings import AggregatorSettings

    bound = []

    async def fake_serve(registry, host, port, healthy):
        bound.append((host, port))
        raise RuntimeError("stop here")

    monkeypatch.setattr(aggregator_main, "serve_metrics", fake_serve)
    for settings, host in (
        (AggregatorSettings(), "127.0.0.1"),
        (AggregatorSettings(aggregator_metrics_host="::1"), "::1"),
    ):
        with pytest.raises(RuntimeError, match="stop here"):
            await aggregator_main.run(settings, asyncio.Event())
        assert bound.pop() == (host, settings.aggregator_metrics_port)
