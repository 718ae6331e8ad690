"""HTTP floods run in a process of their own (its own event loop and core), so that the legitimate client timed in
the test's process measures the server, not the attacker's own load."""

import asyncio
import multiprocessing
import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.synchronize import Event
from typing import Any

import httpx

EMPTY_OBJECTS = b"[" + b",".join([b"{}"] * (1024 * 1024 // 3)) + b"]"  # 1 MiB of {}
FLOODS = ("random_tokens", "empty_objects", "readyz")


async def _one(client: httpx.AsyncClient, name: str) -> httpx.Response:
    if name == "empty_objects":
        return await client.post("/v1/events", content=EMPTY_OBJECTS)
    if name == "random_tokens":
        token = f"dxs_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
        return await client.post("/v1/events", content=b"[]", headers={"Authorization": f"Bearer {token}"})
    return await client.get("/readyz")


def _flood(url: str, name: str, headers: dict[str, str], clients: int, started: Event, stop: Event, out: Any) -> None:
    async def loop(counts: Counter[str]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
            while not stop.is_set():
                answer = await _one(client, name)
                key = str(answer.status_code)
                if answer.status_code >= 400 and answer.headers.get("content-type") == "application/json":
                    key += " " + str(answer.json().get("error"))
                counts[key] += 1
                started.set()

    async def main() -> Counter[str]:
        counts: Counter[str] = Counter()
        await asyncio.gather(*(loop(counts) for _ in range(clients)))
        return counts

    out.put(dict(asyncio.run(main())))


@contextmanager
def flooding(url: str, name: str, headers: dict[str, str] | None = None, clients: int = 16) -> Iterator[Counter[str]]:
    """Flood `name` (one of FLOODS) from another process during the block (entered once the first answer came);
    the yielded Counter ("status error" → answers) is filled when the block ends."""
    assert name in FLOODS
    ctx = multiprocessing.get_context("spawn")
    started, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_flood, args=(url, name, headers or {}, clients, started, stop, out), daemon=True)
    proc.start()
    counts: Counter[str] = Counter()
    try:
        assert started.wait(60), "the flood did not start"
        yield counts
    finally:
        stop.set()
        counts.update(out.get(timeout=60))
        proc.join(30)
