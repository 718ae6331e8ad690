"""Attacks on the HTTP edges, each performed on loopback against a real collector process (real broker and database),
with a legitimate client that must still be answered within 1 s: idle sockets beyond the file-descriptor limit,
headers sent a byte at a time, a flood of random token ids, 1 MiB bodies of `{}`, a /readyz flood; and idle sockets
against a real aggregator's /metrics."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from testing.processes import ServiceProcess
from testing.sandbox import create_database, create_topics, delete_topics, drop_database
from tests.reliability.floods import flooding
from tests.reliability.support import aggregator, base_url, collector, metrics_url
from tests.support.db import add_source
from tests.support.events import ratio_event

pytestmark = pytest.mark.e2e

NOFILE = 256  # the collector's file-descriptor limit in these tests: its connection cap becomes 64
HEADER_TIMEOUT = 2.0
LEGIT_WITHIN = 1.0
SLOW_CLIENTS = 50  # fewer than the cap: none is evicted, each meets its own deadline


@dataclass
class Edge:
    settings: Settings
    proc: ServiceProcess
    url: str
    legit: dict[str, str]
    hostile: dict[str, str]

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        assert parts.hostname is not None and parts.port is not None
        return parts.hostname, parts.port


@pytest.fixture(scope="module")
async def edge() -> AsyncIterator[Edge]:
    base = Settings()
    db = await create_database(base, load_catalog(), load_hierarchy())
    try:
        settings = await create_topics(db)
        legit, hostile = await add_source(settings, "legit"), await add_source(settings, "hostile")
        env = {"DX_COLLECTOR_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT), "DX_COLLECTOR_RATE_EVENTS_PER_S": "5000",
               "DX_COLLECTOR_RATE_BURST": "10000", "DX_COLLECTOR_SOURCE_CACHE_TTL_S": "60",
               "DX_COLLECTOR_TOKEN_LOOKUPS_PER_S": "20"}  # fmt: skip
        proc = collector(settings, nofile=NOFILE, **env).start()
        try:
            yield Edge(settings, proc, base_url(proc), legit, hostile)
        finally:
            proc.stop()
            await delete_topics(settings)
    finally:
        await drop_database(base, db.pg_database)


async def legit_answered(edge: Edge) -> float:
    """The longest of two answers to a new client, each on a fresh connection: /healthz, and one accepted event."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as client:
        assert (await client.get("/healthz")).status_code == 200
    health = time.monotonic() - started
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as client:
        answer = await client.post("/v1/events", json=[ratio_event()], headers=edge.legit)
        assert answer.status_code == 202 and answer.json()["accepted"] == 1, answer.text
    return max(health, time.monotonic() - started - health)


async def during(attack: Callable[[asyncio.Event], Coroutine[None, None, None]], edge: Edge) -> list[float]:
    """Run `attack` until three legitimate rounds (started after it warmed up) have been timed."""
    stop = asyncio.Event()
    task = asyncio.create_task(attack(stop))
    try:
        await asyncio.sleep(0.5)
        assert not task.done() or task.exception() is None
        return [await legit_answered(edge) for _ in range(3)]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bytes | None:
    """What the server sent before closing, or None if the socket is still open after `within` seconds."""
    try:
        return await asyncio.wait_for(reader.read(), within)
    except (TimeoutError, ConnectionError):
        return None


async def test_idle_sockets_beyond_the_descriptor_limit_do_not_lock_out_a_client(edge: Edge) -> None:
    sockets: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def attack(stop: asyncio.Event) -> None:
        for _ in range(NOFILE + 100):  # more idle connections than the process has file descriptors
            with suppress(OSError):
                sockets.append(await asyncio.open_connection(*edge.address))
        await stop.wait()

    try:
        times = await during(attack, edge)
        assert max(times) < LEGIT_WITHIN, times
        # every idle socket is closed by the server: evicted for a newcomer or at its header deadline
        answers = await asyncio.gather(*(closed_by_server(r, HEADER_TIMEOUT + 3) for r, _ in sockets))
        assert len(sockets) == NOFILE + 100 and all(a == b"" for a in answers)
    finally:
        for _, writer in sockets:
            writer.close()


async def test_headers_sent_a_byte_at_a_time_get_408_at_the_deadline_from_the_first_byte(edge: Edge) -> None:
    closed: list[tuple[float, bytes]] = []

    async def slowloris(stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(*edge.address)
        opened = time.monotonic()
        writer.write(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n")
        try:
            while time.monotonic() - opened < HEADER_TIMEOUT + 5:  # until the server ends it (asserted below)
                writer.write(b"X")  # a header that never ends: more bytes never reset the deadline
                await writer.drain()
                answer = await closed_by_server(reader, 0.3)
                if answer is not None:
                    closed.append((time.monotonic() - opened, answer))
                    return
        except ConnectionError:
            closed.append((time.monotonic() - opened, b""))
        finally:
            writer.close()

    async def attack(stop: asyncio.Event) -> None:
        await asyncio.gather(*(slowloris(stop) for _ in range(SLOW_CLIENTS)))

    times = await during(attack, edge)  # returns once every slow client has ended
    assert max(times) < LEGIT_WITHIN, times
    assert len(closed) == SLOW_CLIENTS
    assert all(answer.startswith(b"HTTP/1.1 408 ") for _, answer in closed), closed[:3]
    early_or_late = [after for after, _ in closed if not HEADER_TIMEOUT - 0.1 < after < HEADER_TIMEOUT + 3]
    assert not early_or_late, early_or_late


async def test_a_kept_alive_connection_that_goes_quiet_is_closed(edge: Edge) -> None:
    reader, writer = await asyncio.open_connection(*edge.address)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 ")
        await asyncio.wait_for(reader.readexactly(int(head.split(b"content-length: ")[1].split(b"\r\n")[0])), 5)
        writer.write(b"GET /heal")  # the next request starts and stalls
        assert await closed_by_server(reader, HEADER_TIMEOUT + 3) == b"HTTP/1.1 408 Request Timeout\r\n" \
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"  # fmt: skip
    finally:
        writer.close()


async def test_random_token_ids_do_not_slow_a_known_source(edge: Edge) -> None:
    with flooding(edge.url, "random_tokens", clients=6) as answers:
        times = [await legit_answered(edge) for _ in range(3)]
    assert max(times) < LEGIT_WITHIN, times
    # looked up and unknown, or beyond the budget of 20 lookups a second, deferred without a lookup
    assert set(answers) == {"401 unauthorized", "503 unavailable"}, answers
    assert answers["503 unavailable"] > answers["401 unauthorized"]


async def test_megabyte_bodies_of_empty_objects_are_refused_before_parsing(edge: Edge) -> None:
    with flooding(edge.url, "empty_objects", edge.hostile, clients=6) as answers:
        times = [await legit_answered(edge) for _ in range(3)]
    assert max(times) < LEGIT_WITHIN, times
    # refused before parsing (413), and each refusal spent the hostile source's tokens (then 429)
    assert set(answers) == {"413 too_large", "429 rate_limited"}, answers


async def test_a_readyz_flood_costs_no_broker_or_database_round_trip(edge: Edge) -> None:
    with flooding(edge.url, "readyz", clients=6) as answers:
        times = [await legit_answered(edge) for _ in range(3)]
    assert max(times) < LEGIT_WITHIN, times
    assert set(answers) == {"200"}, answers


async def test_idle_sockets_on_the_aggregator_metrics_port_do_not_stop_a_scrape(edge: Edge) -> None:
    proc = aggregator(edge.settings, "edge-abuse")
    proc.nofile = NOFILE
    proc.start()
    sockets: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    url = urlsplit(metrics_url(proc))
    assert url.hostname is not None and url.port is not None
    try:
        for _ in range(NOFILE + 100):
            with suppress(OSError):
                sockets.append(await asyncio.open_connection(url.hostname, url.port))
        for _, writer in sockets[:20]:
            writer.write(b"GET /metrics HTTP/1.0\r\nX-Slow: ")  # headers that never end
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=10) as client:
            scrape = await client.get(metrics_url(proc))
        assert scrape.status_code == 200 and "dx_aggregator" in scrape.text
        assert time.monotonic() - started < LEGIT_WITHIN
        # every attacking socket is closed by the server within its 5 s exchange deadline
        answers = await asyncio.gather(*(closed_by_server(r, 8) for r, _ in sockets))
        assert len(sockets) == NOFILE + 100 and all(a is not None for a in answers)
    finally:
        for _, writer in sockets:
            writer.close()
        proc.stop()
