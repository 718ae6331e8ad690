"""The shared plumbing: one failure policy for the consume loops, one way to serve /metrics."""

import asyncio
import logging
import random

import httpx
import pytest
from prometheus_client import generate_latest

from shared.adapters.metrics import serve_metrics, service_registry
from shared.adapters.retry import Backoff, until_done


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    backoff = Backoff("work", logging.getLogger("t"), base=1.0, cap=5.0, rng=random.Random(1))
    delays = [backoff.failed(RuntimeError("x")) for _ in range(8)]
    bounds = [1, 2, 4, 5, 5, 5, 5, 5]  # base·2ⁿ, capped at 5
    assert all(0 <= d <= b for d, b in zip(delays, bounds, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: retrying copies do not move in lockstep


async def test_until_done_retries_logs_once_per_state_change(caplog: pytest.LogCaptureFixture) -> None:
    attempts = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 4:
            raise ConnectionError("down")
        return "stored"

    backoff = Backoff("the batch", logging.getLogger("dxmon.test"), base=0.001, cap=0.002)
    with caplog.at_level(logging.INFO, logger="dxmon.test"):
        assert await until_done(flaky, backoff) == "stored"
    assert len(attempts) == 4
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2  # one when it started failing, one when it recovered: not one per attempt
    assert "failing" in messages[0] and "recovered after 3 failed attempts" in messages[1]
    assert backoff.failures == 0


async def test_every_service_registry_has_process_and_platform_series_served_on_the_given_host() -> None:
    registry = service_registry()
    text = generate_latest(registry).decode()
    assert "process_cpu_seconds_total" in text and "python_info" in text
    server = await serve_metrics(registry, "127.0.0.1", 0, lambda: False)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient() as client:
            metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
    assert metrics.status_code == 200 and "python_info" in metrics.text
    assert health.status_code == 503
