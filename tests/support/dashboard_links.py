"""Follow every data link of the generated dashboards on a real database, as Grafana's role: take the first row of
the linked panel's query, resolve the link's target variables from it, and run the target dashboard's queries."""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import asyncpg

from services.dashboards.common import Json
from testing.dashboards import data_links, expand_sql, queries, time_range


async def rows_of(
    conn: asyncpg.Connection, sql: str, variables: Mapping[str, str], span: tuple[datetime, datetime]
) -> list[Any]:
    return list(await conn.fetch(expand_sql(sql, variables, *span)))


async def follow_links(
    conn: asyncpg.Connection, boards: Mapping[str, Json], variables_for: Callable[[Json], dict[str, str]], now: datetime
) -> list[str]:
    """ "<uid>:<column>" of every link followed; asserts each link keeps the time range, names only variables its
    target has, has a row to follow, and opens a unit dashboard whose queries run and whose targets table has rows."""
    by_uid = {board["uid"]: board for board in boards.values()}
    followed: list[str] = []
    for board in boards.values():
        for link in data_links(board):
            target = by_uid[link.target_uid]
            target_vars = {v["name"] for v in target["templating"]["list"]}
            assert {k.removeprefix("var-") for k in link.params() if k.startswith("var-")} <= target_vars, link.url
            assert "${__url_time_range}" in link.url, f"{link.url}: the time range is not kept"
            (source,) = [t["rawSql"] for t in link.panel["targets"]]
            variables = variables_for(board)
            rows = await rows_of(conn, source, variables, time_range(board, now))
            assert rows, f"{board['title']} / {link.panel['title']}: no row to follow"
            resolved = {**variables_for(target), **link.resolve(rows[0], variables)}
            span = time_range(target, now)
            for q in queries(target):
                if q.kind == "sql":
                    await rows_of(conn, q.text, resolved, span)  # raises on any error
            targets = next(q for q in queries(target) if q.where.startswith("Trạng thái mục tiêu"))
            assert await rows_of(conn, targets.text, resolved, span), f"{link.url} → {resolved}: no targets"
            followed.append(f"{board['uid']}:{link.column}")
    return followed
