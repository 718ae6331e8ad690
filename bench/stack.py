"""The three services as real processes on isolated settings, their counters, and a stand-in Alertmanager."""

import asyncio
import os

import httpx

from shared.settings import Settings
from testing.processes import ROOT, ServiceProcess, free_port

UNLIMITED = "1000000000"

LOG_DIR = ROOT / ".run" / "logs" / "bench"


def aggregator(settings: Settings, group: str) -> ServiceProcess:
    """The aggregator; its own settings (DX_AGGREGATOR_*) may be given in the bench's environment, e.g.
    DX_AGGREGATOR_TRANSACTION_SERIES_DAYS (settings_env passes only the shared settings)."""
    port = free_port()
    own = {k: v for k, v in os.environ.items() if k.startswith("DX_AGGREGATOR_")}
    env = {**own, "DX_AGGREGATOR_METRICS_PORT": str(port), "DX_AGGREGATOR_GROUP": group}
    return ServiceProcess("aggregator", settings, f"http://127.0.0.1:{port}/healthz", env, log_dir=LOG_DIR)


def collector(settings: Settings) -> ServiceProcess:
    port = free_port()
    env = {
        "DX_COLLECTOR_PORT": str(port),
        "DX_COLLECTOR_RATE_EVENTS_PER_S": UNLIMITED,  # the benchmark measures speed, not the rate limit
        "DX_COLLECTOR_RATE_BURST": UNLIMITED,
    }
    return ServiceProcess("collector", settings, f"http://127.0.0.1:{port}/readyz", env, log_dir=LOG_DIR)


def collector_url(service: ServiceProcess) -> str:
    return service.ready_url.removesuffix("/readyz")


def alerter(settings: Settings, alertmanager_url: str) -> ServiceProcess:
    port = free_port()
    env = {"DX_ALERTER_METRICS_PORT": str(port), "DX_ALERTMANAGER_URL": alertmanager_url}
    return ServiceProcess("alerter", settings, f"http://127.0.0.1:{port}/metrics", env, log_dir=LOG_DIR)


async def counters(client: httpx.AsyncClient, service: ServiceProcess, *names: str) -> list[float]:
    """The values of unlabelled counters on the service's /metrics (0 when not exported yet), from one scrape: the
    measured service renders /metrics for every sample, so samples cost it as little as they can."""
    url = service.ready_url.rsplit("/", 1)[0] + "/metrics"
    text = (await client.get(url)).text
    found = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if name in found:
            found[name] = float(rest.split()[0])
    return [found[name] for name in names]


async def fake_alertmanager() -> tuple[asyncio.Server, str]:
    """Answers 200 to anything: the benchmark must not post alerts to the shared Alertmanager."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    return server, f"http://127.0.0.1:{port}"
