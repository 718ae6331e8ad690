"""Fixtures shared by every test layer. Unit tests need nothing running; integration and e2e tests use the
real Kafka broker and PostgreSQL that `make test` starts, each in its own database and topics."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.domain.catalog import Catalog, load_catalog
from shared.domain.hierarchy import Hierarchy, load_hierarchy
from shared.settings import Settings
from testing.sandbox import create_database, create_topics, delete_topics, drop_database

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.support.infra"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        if "/tests/e2e/" in path:
            item.add_marker(pytest.mark.e2e)
    # Tests on the default ports (scraped by the shared Prometheus) run after all others.
    items.sort(key=lambda item: item.get_closest_marker("default_ports") is not None)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def hierarchy() -> Hierarchy:
    return load_hierarchy()


@pytest.fixture
async def db_settings(settings: Settings, catalog: Catalog, hierarchy: Hierarchy) -> AsyncIterator[Settings]:
    """Settings pointing at a fresh, migrated database that is dropped afterwards."""
    fresh = await create_database(settings, catalog, hierarchy)
    yield fresh
    await drop_database(settings, fresh.pg_database)


@pytest.fixture
async def isolated(db_settings: Settings) -> AsyncIterator[Settings]:
    """A fresh database and fresh, uniquely named topics; the topics are deleted afterwards (thousands of leftover
    partitions slow the broker's start and exhaust its heap)."""
    fresh = await create_topics(db_settings)
    yield fresh
    await delete_topics(fresh)
