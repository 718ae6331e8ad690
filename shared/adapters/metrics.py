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


async def serve_metrics(
    registry: CollectorRegistry, host: str, port: int, healthy: Callable[[], bool] = lambda: True
) -> asyncio.Server:
    """GET /metrics and /healthz (200 when `healthy()`, else 503) on host:port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
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
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
