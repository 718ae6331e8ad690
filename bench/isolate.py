"""A throw-away migrated database, topics and consumer groups per measurement (testing/sandbox.py)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings
from testing.sandbox import sandbox


@asynccontextmanager
async def isolated(settings: Settings, catalog: Catalog, hierarchy: Hierarchy) -> AsyncIterator[Settings]:
    """Settings naming a fresh database (`dxb_…`), topics (`….bench-…`) and consumer groups, removed afterwards."""
    async with sandbox(settings, catalog, hierarchy, db_prefix="dxb", label="bench-") as fresh:
        yield fresh
