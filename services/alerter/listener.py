"""The alerter's LISTEN connection, reopened whenever it is lost (PostgreSQL restarted or crashed, the backend
terminated, the network cut). Notifications sent while it was closed are gone, so every opening (the first one
too) calls `on_open`, which asks the leader for a full reconciliation. A connection that stays silent is probed
with `SELECT 1` every `probe_seconds`, so a half-open socket is noticed as well."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from shared.adapters.postgres import connect
from shared.adapters.retry import Backoff
from shared.settings import Settings

log = logging.getLogger("dxmon.alerter")

PG_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
Callback = Callable[[Any, int, str, str], None]


class Listener:
    def __init__(
        self,
        settings: Settings,
        channel: str,
        callback: Callback,
        on_open: Callable[[], None],
        probe_seconds: float = 5.0,
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.callback = callback
        self.on_open = on_open
        self.probe_seconds = probe_seconds
        self.opened = 0  # how many times LISTEN was (re)established

    async def run(self) -> None:
        """Keep LISTENing until cancelled."""
        backoff = Backoff(f"LISTEN {self.channel}", log)
        while True:
            try:
                conn = await asyncio.wait_for(connect(self.settings, "alerter"), timeout=10.0)
            except PG_ERRORS as err:
                await asyncio.sleep(backoff.failed(err))
                continue
            backoff.succeeded()
            try:
                await self._listen(conn)
                log.warning("LISTEN %s connection lost; reopening it", self.channel)
            except PG_ERRORS as err:
                await asyncio.sleep(backoff.failed(err))
            finally:
                with contextlib.suppress(*PG_ERRORS):
                    await asyncio.wait_for(conn.close(), timeout=2.0)
                if not conn.is_closed():
                    conn.terminate()

    async def _listen(self, conn: asyncpg.Connection) -> None:
        """LISTEN on `conn`; return when the connection is closed or does not answer a probe."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(self.channel, self.callback)
        self.opened += 1
        if self.opened > 1:
            log.info("LISTEN %s reopened; reconciling every alert", self.channel)
        self.on_open()
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), timeout=self.probe_seconds)
                return
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=self.probe_seconds)
            except PG_ERRORS:
                return
