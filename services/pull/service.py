"""The pull collector's loops: one per enabled connector, each looking every `pull_poll_seconds` whether its
scheduled tick is due and, if this process can claim it, running it (services/pull/runner.py)."""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import asyncpg

from services.pull import store
from services.pull.config import Connector
from services.pull.runner import Runner
from services.pull.schedule import current_tick

log = logging.getLogger("dxmon.pull")


async def connector_loop(runner: Runner, connector: Connector, poll_s: float, stop: asyncio.Event) -> None:
    done: datetime | None = None  # the last tick this process saw completed (spares the database a claim)
    while not stop.is_set():
        tick = current_tick(connector.spec.schedule, datetime.now(UTC))
        if tick != done:
            try:
                result = await runner.run(connector, tick)
            except Exception:  # a bug or an outage outside a run: log, keep the loop (and the others) alive
                log.exception("connector %s: tick %s", connector.name, tick.isoformat())
            else:
                if result is not None and result.outcome == "ok":
                    done = tick
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_s)


async def mirror_state(runner: Runner, connectors: list[Connector], every_s: float, stop: asyncio.Event) -> None:
    """Every process exports the stored state (last success, failures in a row) of every connector, not only of the
    runs it made itself: with two copies, the one that did not run a tick must not look stale or failing."""
    names = {c.name for c in connectors}
    while not stop.is_set():
        try:
            async with runner.pool.acquire() as conn:
                known = await store.states(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("cannot read the connectors' state; metrics keep their last values")
        else:
            for name, state in known.items():
                if name in names:
                    success = state["last_success_at"]
                    runner.metrics.last_success.labels(name).set(success.timestamp() if success else 0.0)
                    runner.metrics.failures.labels(name).set(state["failures"])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
