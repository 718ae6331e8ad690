"""Keep a background coroutine running: start it again after it fails, with a growing delay."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def keep_running(
    run: Callable[[], Awaitable[None]], what: str, first_delay: float = 1.0, max_delay: float = 30.0
) -> None:
    """Await `run()` again whenever it raises (the delay doubles from `first_delay` up to `max_delay`, and is reset
    after a run that lasted longer than `max_delay`); return when a run returns; cancellation stops it."""
    delay = first_delay
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await run()
            return
        except Exception:
            log.exception("%s failed; restarting it in %.0f s", what, delay)
        if loop.time() - started > max_delay:
            delay = first_delay
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


async def start_with_retry(start: Callable[[], Awaitable[None]], what: str, max_delay: float = 10.0) -> None:
    """Await `start()` until it succeeds (e.g. Kafka unreachable at start-up), logging each failure once."""
    delay = 0.5
    while True:
        try:
            await start()
            return
        except Exception as err:
            log.warning("%s: not connected yet (%s: %s); retrying in %.1f s", what, type(err).__name__, err, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
