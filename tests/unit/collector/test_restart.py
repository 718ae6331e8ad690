"""keep_running restarts a background coroutine that died (the collector's ingest consumer), with backoff."""

import asyncio

import pytest

from services.collector.restart import keep_running, start_with_retry


async def test_a_run_that_fails_is_started_again_until_one_returns() -> None:
    calls: list[int] = []

    async def run() -> None:
        calls.append(len(calls))
        if len(calls) < 3:
            raise RuntimeError("the consumer died")

    await asyncio.wait_for(keep_running(run, "test", first_delay=0.01, max_delay=0.02), timeout=10)
    assert calls == [0, 1, 2]


async def test_cancellation_stops_the_restarts() -> None:
    started = asyncio.Event()

    async def run() -> None:
        started.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(keep_running(run, "test"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_start_is_retried_until_it_connects() -> None:
    attempts: list[int] = []

    async def start() -> None:
        attempts.append(1)
        if len(attempts) < 2:
            raise ConnectionError("Kafka unreachable")

    await asyncio.wait_for(start_with_retry(start, "test"), timeout=10)
    assert len(attempts) == 2
