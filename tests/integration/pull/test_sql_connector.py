"""The SQL connector against a real PostgreSQL source database with rows added between runs: each run reads only
what is new (incremental cursor), in a read-only transaction."""

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from shared.settings import Settings
from testing.sandbox import drop_database, owner_execute
from tests.integration.pull.support import (
    collector_process,
    connector_row,
    event_ids,
    pull_settings,
    runner,
    token_file,
    write_connector,
)

DAY = date.today() - timedelta(days=2)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def collector(isolated: Settings) -> Iterator[str]:
    with collector_process(isolated) as url:
        yield url


@pytest.fixture
async def source_db(settings: Settings) -> AsyncIterator[str]:
    """A commune office's database: a table of dossier counts with an updated_at column; yields its DSN."""
    name = f"dxsrc_{uuid.uuid4().hex[:10]}"
    await owner_execute(settings, f'CREATE DATABASE "{name}" OWNER {settings.pg_owner_user}')
    dsn = settings.model_copy(update={"pg_database": name}).pg_dsn("owner")
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "CREATE TABLE ho_so (ma_xa text, ngay date, truc_tuyen int, tong int, updated_at timestamptz NOT NULL)"
    )
    await conn.close()
    try:
        yield dsn
    finally:
        await drop_database(settings, name)


async def _add(dsn: str, rows: list[tuple[str, date, int, int, datetime]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany("INSERT INTO ho_so VALUES ($1, $2, $3, $4, $5)", rows)
    finally:
        await conn.close()


def _connector(token: Path, dsn_file: Path, query: str) -> str:
    return f"""
kind = "sql"
schedule = {{ cron = "*/5 * * * *" }}
[source]
name = "xa-db"
token = {{ file = "{token}" }}
[sql]
dsn = {{ file = "{dsn_file}" }}
query = "{query}"
cursor_column = "updated_at"
cursor_start = "1970-01-01T00:00:00+00:00"
[mapping]
constants = {{ indicator = "gov.level4_procedures_online" }}
fields = {{ unit = "ma_xa", observed_at = "ngay", numerator = "truc_tuyen", denominator = "tong" }}
"""


QUERY = "SELECT ma_xa, ngay, truc_tuyen, tong, updated_at FROM ho_so WHERE updated_at > :cursor ORDER BY updated_at"


async def test_each_run_reads_only_the_rows_added_since_the_last(
    isolated: Settings, collector: str, source_db: str, tmp_path: Path
) -> None:
    token = await token_file(isolated, tmp_path, "xa-db")
    dsn_file = tmp_path / "source.dsn"
    dsn_file.write_text(source_db, encoding="utf-8")
    connector = write_connector(tmp_path, "xa-db", _connector(token, dsn_file, QUERY))
    await _add(
        source_db, [(c, DAY, 10 + i, 20, T0 + timedelta(minutes=i)) for i, c in enumerate(("14758", "14797", "14812"))]
    )
    async with runner(pull_settings(isolated, collector)) as run:
        first = await run.run(connector, None)
        assert first is not None and first.outcome == "ok" and first.tally.counts() == (3, 3, 0), first
        cursor = (await connector_row(isolated, "xa-db"))["cursor"]
        assert "2026-01-01T00:02:00+00:00" in cursor

        await _add(source_db, [("14758", DAY + timedelta(days=1), 15, 20, T0 + timedelta(hours=1)),
                               ("14797", DAY + timedelta(days=1), 16, 20, T0 + timedelta(hours=2))])  # fmt: skip
        second = await run.run(connector, None)
        assert second is not None and second.tally.counts() == (2, 2, 0)
        third = await run.run(connector, None)
        assert third is not None and third.tally.counts() == (0, 0, 0)
    ids = await event_ids(isolated)
    assert len(ids) == 5 and len(set(ids)) == 5


async def test_the_query_runs_read_only(isolated: Settings, collector: str, source_db: str, tmp_path: Path) -> None:
    token = await token_file(isolated, tmp_path, "xa-db")
    dsn_file = tmp_path / "source.dsn"
    dsn_file.write_text(source_db, encoding="utf-8")
    sneaky = "WITH gone AS (DELETE FROM ho_so RETURNING *) SELECT * FROM gone WHERE updated_at > :cursor"
    connector = write_connector(tmp_path, "xa-db", _connector(token, dsn_file, sneaky))
    await _add(source_db, [("14758", DAY, 1, 2, T0)])
    async with runner(pull_settings(isolated, collector)) as run:
        result = await run.run(connector, None)
    assert result is not None and result.outcome == "failed"
    assert result.error is not None and "ReadOnlySQLTransactionError" in result.error
    conn = await asyncpg.connect(source_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM ho_so") == 1
    finally:
        await conn.close()
    assert source_db.split("@")[0].split(":")[-1] not in result.error  # the password never reaches the message
