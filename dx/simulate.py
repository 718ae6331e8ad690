"""The `dx simulate` job: a compressed replay of history, then live traffic, through the collector's HTTP API.

What is sent is dx/simulation.py (events) and dx/profiles.py (baselines and trends); how progress is shown is the
command's (dx/commands/simulate.py), through `Watcher`."""

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from dx.client import CollectorClient
from dx.sending import Pacer, Summary, send_all
from dx.simulation import Event, Simulator
from dx.tokens import run_token
from shared import names
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date
from shared.settings import Settings


@dataclass(frozen=True)
class SimulateOptions:
    collector_url: str
    token: str | None = None
    seed: int = 0
    rate: float | None = None  # events per second; None = as fast as the collector accepts
    duration: float = 60.0  # seconds of live traffic after any history; 0 = none; inf = until interrupted
    batch: int = 500
    history: date | None = None
    source_name: str = "simulator"


DEFAULT_LIVE_RATE = 50.0  # events per second of live traffic when --rate is not given


def _batch(options: SimulateOptions) -> int:
    """About a second's worth of events per batch when the rate is bounded, so pacing stays smooth."""
    return min(options.batch, max(1, int(options.rate))) if options.rate else options.batch


def _live(sim: Simulator) -> Iterator[Event]:
    while True:
        yield from sim.live_round(datetime.now(UTC))


class Watcher(Protocol):
    """Told what the run does, to show it."""

    def source_created(self, name: str) -> None: ...

    def phase(self, name: str, total: float | None) -> None: ...

    def advance(self, completed: float, status: str) -> None: ...


async def simulate(
    settings: Settings,
    catalog: Catalog,
    hierarchy: Hierarchy,
    options: SimulateOptions,
    summary: Summary,
    watcher: Watcher,
) -> str | None:
    """Run the simulation, tallying into `summary`; returns the name of the source created for the run (if any:
    scoped to the catalog's indicators in the province, revoked at the end, dx/tokens.py)."""
    scope = catalog.codes(), [names.PROVINCE_CODE]
    async with run_token(settings, options.token, options.source_name, *scope) as run:
        if run.created:
            watcher.source_created(run.created)
        await _run(catalog, hierarchy, options, summary, watcher, run.token)
    return run.created


async def _run(
    catalog: Catalog, hierarchy: Hierarchy, options: SimulateOptions, summary: Summary, watcher: Watcher, token: str
) -> None:
    sim = Simulator(catalog, hierarchy, options.seed)
    live_rate = options.rate or DEFAULT_LIVE_RATE

    def status() -> str:
        return f"accepted {summary.accepted} · rejected {summary.rejected_total}"

    async with CollectorClient(options.collector_url, token) as client:
        if (start := options.history) is not None:
            now = datetime.now(UTC)
            days = (local_date(now) - start).days + 1
            watcher.phase("history", days)

            def on_history(chunk: list[Event], _: object) -> None:
                day = date.fromisoformat(chunk[-1]["observed_at"][:10])
                watcher.advance((day - start).days + 1, f"{day} · {status()}")

            events = sim.history(start, now)
            await send_all(
                client, events, batch=_batch(options), pacer=Pacer(options.rate), summary=summary, on_batch=on_history
            )
            watcher.advance(days, status())
        if options.duration > 0:
            forever = math.isinf(options.duration)
            watcher.phase("live", None if forever else options.duration)
            started = time.monotonic()
            deadline = None if forever else started + options.duration

            def on_live(chunk: list[Event], _: object) -> None:
                watcher.advance(time.monotonic() - started, status())

            await send_all(
                client,
                _live(sim),
                batch=min(options.batch, max(1, int(live_rate))),
                pacer=Pacer(live_rate),
                summary=summary,
                deadline=deadline,
                on_batch=on_live,
            )
