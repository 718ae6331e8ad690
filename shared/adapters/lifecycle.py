"""How a service process runs: logging set up from its settings, then `run(settings, stop)` until SIGTERM/SIGINT."""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared.settings import Settings

S = TypeVar("S", bound=Settings)


def run_until_signalled(run: Callable[[S, asyncio.Event], Awaitable[None]], settings: S) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_until_signalled(run, settings))


async def _until_signalled(run: Callable[[S, asyncio.Event], Awaitable[None]], settings: S) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)
