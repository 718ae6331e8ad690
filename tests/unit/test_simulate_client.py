"""The tools' HTTP client retries 503/429 with backoff and tallies the collector's answers."""

import httpx
import orjson
import pytest

from dx.client import CollectorClient, CollectorError
from dx.sending import Pacer, Summary, batches, send_all


class Script:
    """A fake collector answering a fixed sequence of responses; it records the bodies it received."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.bodies: list[list[dict[str, object]]] = []
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(orjson.loads(request.content))
        self.headers.append(request.headers)
        return self.responses.pop(0)


def _client(script: Script, delays: list[float], attempts: int = 8) -> CollectorClient:
    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    return CollectorClient(
        "http://collector", "dxs_tok", max_attempts=attempts, sleep=sleep, transport=httpx.MockTransport(script)
    )


async def test_a_busy_collector_is_retried_with_growing_delays_until_it_accepts() -> None:
    script = Script(
        httpx.Response(503, json={"detail": "kafka unavailable"}),
        httpx.Response(429, json={"detail": "slow down"}),
        httpx.Response(503),
        httpx.Response(202, json={"accepted": 2, "rejected": []}),
    )
    delays: list[float] = []
    async with _client(script, delays) as client:
        result = await client.post([{"event_id": "a"}, {"event_id": "b"}])
    assert (result.accepted, result.retries) == (2, 3)
    assert len(script.bodies) == 4 and all(b == script.bodies[0] for b in script.bodies)  # same events, same ids
    assert delays[0] < delays[2]
    assert script.headers[0]["authorization"] == "Bearer dxs_tok"


async def test_retry_after_is_honoured() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(202, json={"accepted": 1}))
    delays: list[float] = []
    async with _client(script, delays) as client:
        await client.post([{"event_id": "a"}])
    assert delays == [3.0]


async def test_a_bad_token_or_an_endless_outage_is_an_error() -> None:
    async with _client(Script(httpx.Response(401, json={"detail": "unknown token"})), []) as client:
        with pytest.raises(CollectorError, match="401"):
            await client.post([{}])
    async with _client(Script(*[httpx.Response(503)] * 3), [], attempts=3) as client:
        with pytest.raises(CollectorError, match="503"):
            await client.post([{}])


async def test_rejections_are_counted_by_reason() -> None:
    rejected = [
        {"index": 0, "event_id": "a", "errors": ["unknown_unit: unit: unit 99 does not exist"]},
        {"index": 2, "event_id": "c", "errors": ["unknown_unit: unit: x", "out_of_range: value: y"]},
        {"index": 3, "event_id": "d", "errors": ["wrong_level: unit: z"]},
    ]
    script = Script(
        httpx.Response(202, json={"accepted": 2, "rejected": rejected[:2]}),
        httpx.Response(422, json={"accepted": 0, "rejected": rejected[2:]}),
    )
    summary = Summary()
    async with _client(script, []) as client:
        events = [{"event_id": str(i)} for i in range(5)]
        await send_all(client, events, batch=4, pacer=Pacer(None), summary=summary)
    assert [len(b) for b in script.bodies] == [4, 1]
    assert (summary.sent, summary.accepted, summary.rejected_total) == (5, 2, 3)
    assert summary.rejected == {"unknown_unit": 2, "wrong_level": 1}


def test_batches_cut_a_stream_without_losing_items() -> None:
    assert [len(b) for b in batches(range(2501), 1000)] == [1000, 1000, 501]


async def test_the_pacer_holds_the_average_rate() -> None:
    now, delays = [0.0], []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        now[0] += seconds

    pacer = Pacer(100.0, clock=lambda: now[0], sleep=sleep)
    await pacer.wait(100)  # the first batch leaves at once
    await pacer.wait(100)  # the next 100 events wait a second
    now[0] += 2.5  # after an idle spell, no wait
    await pacer.wait(50)
    assert delays == [1.0]
