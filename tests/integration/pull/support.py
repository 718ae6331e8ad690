"""Helpers for the pull collector's tests: a real collector process, a source token in a file, connector files,
an in-process runner (real PostgreSQL, Kafka and collector), and reading what reached Kafka."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from dx.dlq import read_deadletters, read_topic
from services.pull.config import Connector, load_connector
from services.pull.metrics import PullMetrics
from services.pull.runner import Runner
from services.pull.settings import PullSettings
from shared.adapters.kafka import producer_kwargs
from shared.adapters.postgres import create_pool
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from testing.processes import ServiceProcess, free_port
from tests.support.db import add_source, fetch

MAPPING = """
[mapping]
constants = { indicator = "gov.level4_procedures_online" }
fields = { unit = "ma_xa", observed_at = "ngay", numerator = "ho_so_truc_tuyen", denominator = "tong_ho_so" }
"""


def http_connector(url: str, token: Path, every: str = "1h", timeout: str = "10s") -> str:
    """A portal connector reading `{url}/report` page by page (testing/fake_source.py), acting as portal-dvc."""
    return f"""
kind = "http"
schedule = {{ every = "{every}" }}
timeout = "{timeout}"
[source]
name = "portal-dvc"
token = {{ file = "{token}" }}
[http]
url = "{url}/report"
records = "data"
pagination = {{ page_param = "page" }}
{MAPPING}
"""


def files_connector(token: Path, inbox: Path, settle_seconds: float = 0) -> str:
    """A folder connector on `inbox`, acting as so-tai-chinh."""
    return f"""
kind = "files"
schedule = {{ every = "1h" }}
[source]
name = "so-tai-chinh"
token = {{ file = "{token}" }}
[files]
folder = "{inbox}"
settle_seconds = {settle_seconds}
"""


@contextmanager
def collector_process(settings: Settings) -> Iterator[str]:
    """A collector on a free port (no ingest consumer); yields its URL."""
    port = free_port()
    process = ServiceProcess(
        "collector", settings.model_copy(update={"collector_port": port}), f"http://127.0.0.1:{port}/readyz",
        {"DX_COLLECTOR_INGEST_ENABLED": "false"},
    )  # fmt: skip
    process.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


async def token_file(settings: Settings, folder: Path, source: str, **scope: Any) -> Path:
    header = await add_source(settings, source, scope.get("indicators"), scope.get("units"))
    path = folder / f"{source}.token"
    path.write_text(header["Authorization"].removeprefix("Bearer ") + "\n", encoding="utf-8")
    return path


def write_connector(folder: Path, name: str, text: str) -> Connector:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return load_connector(path)


def pull_settings(settings: Settings, collector_url: str, **over: Any) -> PullSettings:
    fields = {**settings.model_dump(), "pull_collector_url": collector_url, "pull_backoff_base_seconds": 0.5, **over}
    return PullSettings.model_validate(fields)


@asynccontextmanager
async def runner(settings: PullSettings, holder: str = "test-runner") -> AsyncIterator[Runner]:
    pool = await create_pool(settings, max_size=3)
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        yield Runner(settings, load_catalog(), load_hierarchy(), pool, producer, PullMetrics(), holder)
    finally:
        await producer.stop()
        await pool.close()


async def event_ids(settings: Settings) -> list[str]:
    """The event_id of every record on the events topic (a re-sent event appears twice)."""
    return [orjson.loads(r.value or b"{}")["event_id"] for r in await read_topic(settings, settings.topic_events)]


async def pulled_deadletters(settings: Settings, connector: str) -> list[dict[str, Any]]:
    letters = [d for d in await read_deadletters(settings) if d.source_topic == f"connector:{connector}"]
    return [{"reason": d.reason, "record": orjson.loads(d.original or b"null"), "service": d.service} for d in letters]


async def connector_row(settings: Settings, name: str) -> dict[str, Any]:
    rows = await fetch(settings, "SELECT * FROM pull_connectors WHERE connector = $1", name)
    return dict(rows[0])


async def runs(settings: Settings, name: str) -> list[dict[str, Any]]:
    rows = await fetch(settings, "SELECT * FROM pull_runs WHERE connector = $1 ORDER BY id", name)
    return [dict(r) for r in rows]
