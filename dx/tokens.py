"""Tokens for the tools: an operator's `--token`, or a new source created for the tool (dx/sources.py)."""

from dx.sources import source_admin
from shared.settings import Settings


async def create_source_token(settings: Settings, name: str) -> tuple[str, str]:
    """(source name, token) of a new unrestricted source; `name-<UTC time>` if `name` already has a token."""
    async with source_admin(settings) as admin:
        return await admin.add_unique(name)


async def obtain_token(settings: Settings, token: str | None, name: str) -> tuple[str | None, str]:
    """(created source name or None, token): the given token, else one of a new source called `name`."""
    if token:
        return None, token
    return await create_source_token(settings, name)
