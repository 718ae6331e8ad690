"""How every service exposes Prometheus metrics: a registry of its own with the process and platform collectors
(`process_*`, `python_info`), served at GET /metrics (and /healthz) on a configurable host and port.

The collector serves the same registry from its FastAPI app (services/collector/api.py); the aggregator and the
alerter, which have no web framework, use `serve_metrics`: a small asyncio server, HTTP/1.0, one request per
connection, which is all a Prometheus scrape needs.
"""

import asyncio
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)


def service_registry() -> CollectorRegistry:
    """A fresh registry with the process and platform collectors registered (others than the default get none)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


REQUEST_TIMEOUT_S = 5.0  # a whole exchange (request head in, response out) must end within this
MAX_CONNECTIONS = 32  # a newcomer beyond this closes the longest-open connection (an idle or slow one)
MAX_HEAD_LINES = 100


async def serve_metrics(
    registry: CollectorRegistry,
    host: str,
    port: int,
    healthy: Callable[[], bool] = lambda: True,
    timeout: float = REQUEST_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
) -> asyncio.Server:
    """GET /metrics and /healthz (200 when `healthy()`, else 503) on host:port. Idle sockets, slow headers and
    readers that never read are cut off after `timeout`; at most `max_connections` are open at once, so a scrape is
    answered however many such sockets an attacker opens."""
    open_: dict[asyncio.StreamWriter, None] = {}  # oldest first

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(open_) >= max_connections:
            oldest = next(iter(open_))
            open_.pop(oldest)
            oldest.transport.abort()
        open_[writer] = None
        try:
            async with asyncio.timeout(timeout):
                await _answer(reader, writer, registry, healthy)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError):
            pass  # cut off: a timeout, a line over the reader's limit, a peer gone
        finally:
            open_.pop(writer, None)
            writer.close()

    return await asyncio.start_server(handle, host, port)


async def _answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, registry: CollectorRegistry, healthy: Callable[[], bool]
) -> None:
    request = await reader.readline()
    for _ in range(MAX_HEAD_LINES):
        if (await reader.readline()) in (b"\r\n", b"\n", b""):
            break
    else:
        return  # an endless head: no answer
    path = request.split(b" ")[1] if request.count(b" ") >= 2 else b"/"
    if path.startswith(b"/metrics"):
        status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest(registry)
    elif path.startswith(b"/healthz"):
        ok = healthy()
        status, ctype = ("200 OK" if ok else "503 Service Unavailable"), "text/plain"
        body = b"ok\n" if ok else b"starting\n"
    else:
        status, ctype, body = "404 Not Found", "text/plain", b"not found\n"
    head = f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
