"""SQL sources: a read-only query against a PostgreSQL database with an incremental cursor.

The query names the last cursor value `:cursor` (`WHERE updated_at > :cursor ORDER BY updated_at`); it runs in a
READ ONLY transaction, so even a query that tries to write is refused by the source database. After the events
were acknowledged, the cursor becomes the largest `cursor_column` value read. Rows that share the cursor value with
rows added after the run are only read if the query uses `>=` (the event ids make the re-read rows duplicates).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.pull.config import Connector
from services.pull.kinds.base import RunContext, SourceError, deliver_records

_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def decode_cursor(text: str, type_name: str) -> Any:
    """The stored text of a cursor as the query parameter's type."""
    if type_name in ("timestamptz", "timestamp"):
        return datetime.fromisoformat(text)
    if type_name == "date":
        return date.fromisoformat(text)
    if type_name in ("int2", "int4", "int8"):
        return int(text)
    if type_name == "numeric":
        return Decimal(text)
    return text


def encode_cursor(value: Any) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


class SqlSource:
    def __init__(self, connector: Connector) -> None:
        assert connector.spec.sql is not None
        self.connector, self.spec = connector, connector.spec.sql

    async def run(self, ctx: RunContext) -> None:
        last = ctx.cursor.get("last", self.spec.cursor_start)
        rows, newest = await self.fetch(last)
        await deliver_records(ctx, list(rows), self.connector.name, {"last": newest})

    async def fetch(self, last: str) -> tuple[list[dict[str, Any]], str]:
        """The rows after `last` and the new cursor text."""
        query = self.spec.query.replace(":cursor", "$1")
        timeout = self.connector.timeout_s
        try:
            conn = await asyncpg.connect(self.spec.dsn.read().get_secret_value(), timeout=timeout)
        except _ERRORS as err:
            raise SourceError(
                f"{self.connector.name}: cannot connect to the source database: {type(err).__name__}"
            ) from err
        try:
            async with conn.transaction(readonly=True, isolation="repeatable_read"):
                statement = await conn.prepare(query, timeout=timeout)
                parameter = statement.get_parameters()[0].name
                rows = [dict(r) for r in await statement.fetch(decode_cursor(last, parameter), timeout=timeout)]
        except _ERRORS as err:
            raise SourceError(f"{self.connector.name}: the query failed: {type(err).__name__}: {err}") from err
        finally:
            await conn.close()
        if rows and self.spec.cursor_column not in rows[0]:
            raise SourceError(f"{self.connector.name}: the query returns no column {self.spec.cursor_column!r}")
        values = [r[self.spec.cursor_column] for r in rows if r[self.spec.cursor_column] is not None]
        return rows, encode_cursor(max(values)) if values else last
