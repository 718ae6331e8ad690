"""Tokens for the tools: an operator's `--token`, or a source created for one run of the tool (dx/sources.py).

A run's own source is scoped to what the run sends (its indicators and units), holds a lease of `LEASE` renewed
every `RENEW_EVERY_S` seconds while the run lasts, and is revoked when the run ends, however it ends (error,
Ctrl-C). A run that is killed leaves a source that stops working when its lease runs out. Revoked rows stay, as
every revoked source's does (audit).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from dx.sources import SourceAdmin, source_admin
from shared.settings import Settings

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
RENEW_EVERY_S = 60.0


@dataclass(frozen=True)
class RunToken:
    token: str
    created: str | None  # the name of the source created for this run; None: the operator's token


async def create_source_token(settings: Settings, name: str) -> tuple[str, str]:
    """(source name, token) of a new unrestricted source that does not expire (benchmarks and tests)."""
    async with source_admin(settings) as admin:
        return await admin.add_unique(name)


@contextlib.asynccontextmanager
async def run_token(
    settings: Settings, token: str | None, name: str, indicators: list[str], units: list[str]
) -> AsyncIterator[RunToken]:
    """The given token, else a source called `name` (or `name-<time>`) for the duration of the block."""
    if token:
        yield RunToken(token, None)
        return
    async with source_admin(settings) as admin:
        created, fresh = await admin.add_unique(name, sorted(indicators), sorted(units), LEASE)
        renewing = asyncio.create_task(_renew(admin, created), name=f"renew {created}")
        try:
            yield RunToken(fresh, created)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await admin.revoke(created)


async def _renew(admin: SourceAdmin, name: str) -> None:
    while True:
        await asyncio.sleep(RENEW_EVERY_S)
        try:
            await admin.renew(name, LEASE)
        except Exception as err:  # the lease still holds for a while: keep trying
            log.warning("could not renew source %s: %s", name, err)
