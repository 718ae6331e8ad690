"""The pull collector's loops: one per enabled connector, each looking every `pull_poll_seconds` whether its
scheduled tick is due and, if this process can claim it, running it (services/pull/runner.py)."""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

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
