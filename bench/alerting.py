"""A year of simulated history (what the alerter's trends are fitted to) and the full evaluation, timed in-process
with the alerter's own code against that database."""

import statistics
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg
import orjson

from bench.ceilings import produce
from bench.workload import rfc3339
from dx.simulation import Simulator
from services.alerter.clock import SystemClock
from services.alerter.metrics import build_metrics
from services.alerter.rules import Tracked
from services.alerter.service import Alerter, AlertPublisher
from services.alerter.settings import AlerterSettings
from shared.adapters.postgres import create_pool
from shared.contracts.keys import pair_key
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date
from shared.settings import Settings


async def load_history(
    settings: Settings, catalog: Catalog, hierarchy: Hierarchy, days: int = 365, start: date | None = None
) -> int:
    """Publish simulated traffic from `start` (default: `days` ago) until now to dx.events.v1 (as the collector
    would); returns the count."""
    now = datetime.now(UTC)
    messages = history_messages(catalog, hierarchy, start or local_date(now - timedelta(days=days)), now)
    await produce(settings, settings.topic_events, messages)
    return len(messages)


def history_messages(
    catalog: Catalog, hierarchy: Hierarchy, start: date, now: datetime, until: datetime | None = None,
    received_when_observed: bool = False,
) -> list[tuple[bytes, bytes]]:  # fmt: skip
    """The simulator's history from `start` to `until` (default `now`) in day order, as the collector writes it to
    dx.events.v1: the event, its source and received_at, keyed indicator:unit. received_at is `now`, or with
    `received_when_observed` a minute after the observation (a system that ran through those years: what
    bounded storage prunes, bench/README.md)."""
    extra = {"source": "bench-history", "received_at": rfc3339(now)}
    events = Simulator(catalog, hierarchy, seed=8).history(start, until or now)
    if not received_when_observed:
        return [(pair_key(e["indicator"], e["unit"]), orjson.dumps({**e, **extra})) for e in events]
    late = timedelta(minutes=1)
    return [
        (pair_key(e["indicator"], e["unit"]), orjson.dumps({**e, "source": "bench-history",
         "received_at": rfc3339(min(now, datetime.fromisoformat(e["observed_at"]) + late))}))
        for e in events
    ]  # fmt: skip


async def applied_count(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.pg_dsn("app"))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM applied_events"))
    finally:
        await conn.close()


class _NoSink:
    async def send(self, alerts: list[Tracked]) -> None:
        """Full evaluation does not talk to Alertmanager (the leader's reconciliation does)."""


async def full_evaluation(settings: Settings, catalog: Catalog, hierarchy: Hierarchy, runs: int) -> tuple[float, int]:
    """Median seconds of `Alerter.evaluate(None)` (every target of every unit: load, assess, write) and the targets."""
    alerter_settings = AlerterSettings.model_validate(settings.model_dump())
    pool = await create_pool(settings, "app", max_size=2)
    try:
        alerter = Alerter(alerter_settings, catalog, hierarchy, pool, _NoSink(), AlertPublisher(), build_metrics(),
                          SystemClock())  # fmt: skip
        seconds, targets = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            targets = len(await alerter.evaluate(None, "bench"))
            seconds.append(time.perf_counter() - started)
        return statistics.median(seconds), targets
    finally:
        await pool.close()
