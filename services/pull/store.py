"""PostgreSQL access of the pull collector (tables in shared/migrations/0018_pull_connectors.sql).

The lease is the fence: a run claims its connector (and its tick), renews the claim while it works, and every write
that moves the connector forward (cursor, a processed file, the tick done) checks that the claim is still its own,
so a process that lost the lease (stalled, partitioned) can no longer advance anything.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

Cursor = dict[str, Any]


class LeaseLost(RuntimeError):
    """The run's lease expired or was taken over: what it did is not recorded as done."""


@dataclass(frozen=True)
class Claim:
    cursor: Cursor
    failures: int


_CLAIM = """
INSERT INTO pull_connectors (connector, holder, lease_expires_at) VALUES ($1, $2, now() + make_interval(secs => $4))
ON CONFLICT (connector) DO UPDATE SET holder = EXCLUDED.holder, lease_expires_at = EXCLUDED.lease_expires_at,
       updated_at = now()
 WHERE (pull_connectors.holder IS NULL OR pull_connectors.holder = EXCLUDED.holder
        OR pull_connectors.lease_expires_at < now())
   AND ($3::timestamptz IS NULL
        OR ((pull_connectors.done_tick IS NULL OR pull_connectors.done_tick < $3)
            AND (pull_connectors.retry_at IS NULL OR pull_connectors.retry_at <= now())))
RETURNING cursor, failures
"""
_FENCE = "connector = $1 AND holder = $2 AND lease_expires_at > now()"


async def claim(
    conn: asyncpg.Connection, connector: str, holder: str, tick: datetime | None, lease_s: float
) -> Claim | None:
    """Take the connector's lease for `tick` (None: a forced run, whatever the schedule); None if another process
    holds it, the tick is done already, or a failure's backoff has not passed. Runs a dead holder left are 'lost'."""
    async with conn.transaction():
        row = await conn.fetchrow(_CLAIM, connector, holder, tick, lease_s)
        if row is None:
            return None
        await conn.execute(
            "UPDATE pull_runs SET outcome = 'lost', finished_at = now(), error = 'the process holding it stopped' "
            "WHERE connector = $1 AND outcome = 'running'",
            connector,
        )
    return Claim(orjson.loads(row["cursor"]), row["failures"])


async def renew(conn: asyncpg.Connection, connector: str, holder: str, lease_s: float) -> bool:
    done = await conn.fetchval(
        f"UPDATE pull_connectors SET lease_expires_at = now() + make_interval(secs => $3) WHERE {_FENCE} RETURNING 1",
        connector, holder, lease_s,
    )  # fmt: skip
    return bool(done == 1)


async def save_cursor(conn: asyncpg.Connection, connector: str, holder: str, cursor: Cursor) -> None:
    done = await conn.fetchval(
        f"UPDATE pull_connectors SET cursor = $3::jsonb, updated_at = now() WHERE {_FENCE} RETURNING 1",
        connector, holder, orjson.dumps(cursor).decode(),
    )  # fmt: skip
    if done != 1:
        raise LeaseLost(f"{connector}: lease lost before the cursor was saved")


async def finish(
    conn: asyncpg.Connection, connector: str, holder: str, tick: datetime | None, error: str | None, retry_s: float
) -> bool:
    """Release the lease: on success mark the tick done and clear the failures, else count one more failure and
    set when to retry. False if the lease was no longer ours (nothing changed)."""
    if error is None:
        sql = f"""UPDATE pull_connectors SET done_tick = COALESCE($3, done_tick), failures = 0, retry_at = NULL,
                     last_success_at = now(), last_error = NULL, holder = NULL, lease_expires_at = NULL,
                     updated_at = now() WHERE {_FENCE} RETURNING 1"""
        done = await conn.fetchval(sql, connector, holder, tick)
    else:
        sql = f"""UPDATE pull_connectors SET failures = failures + 1, retry_at = now() + make_interval(secs => $4),
                     last_error = $3, holder = NULL, lease_expires_at = NULL, updated_at = now()
                   WHERE {_FENCE} RETURNING 1"""
        done = await conn.fetchval(sql, connector, holder, error[:1000], retry_s)
    return bool(done == 1)


async def failures(conn: asyncpg.Connection, connector: str) -> int:
    return int(await conn.fetchval("SELECT failures FROM pull_connectors WHERE connector = $1", connector) or 0)


async def file_seen(conn: asyncpg.Connection, connector: str, sha256: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT file_name, outcome, processed_at FROM pull_files WHERE connector = $1 AND sha256 = $2",
        connector, sha256,
    )  # fmt: skip


async def file_done(
    conn: asyncpg.Connection,
    connector: str,
    holder: str,
    sha256: str,
    name: str,
    outcome: str,
    counts: tuple[int, int, int],
) -> None:
    """Record a processed file, under the lease (same statement as the fence check)."""
    done = await conn.fetchval(
        f"""INSERT INTO pull_files (connector, sha256, file_name, outcome, rows, accepted, rejected)
            SELECT $1, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM pull_connectors WHERE {_FENCE})
            ON CONFLICT (connector, sha256) DO NOTHING RETURNING 1""",
        connector, holder, sha256, name, outcome, *counts,
    )  # fmt: skip
    if done != 1 and await file_seen(conn, connector, sha256) is None:
        raise LeaseLost(f"{connector}: lease lost before {name} was recorded")


async def run_started(conn: asyncpg.Connection, connector: str, tick: datetime | None, holder: str) -> int:
    run_id: int = await conn.fetchval(
        "INSERT INTO pull_runs (connector, tick, holder) VALUES ($1, $2, $3) RETURNING id", connector, tick, holder
    )
    return run_id


async def run_finished(
    conn: asyncpg.Connection, run_id: int, outcome: str, counts: tuple[int, int, int], error: str | None
) -> None:
    await conn.execute(
        "UPDATE pull_runs SET outcome = $2, finished_at = now(), fetched = $3, accepted = $4, rejected = $5, "
        "error = $6 WHERE id = $1 AND outcome = 'running'",
        run_id, outcome, *counts, None if error is None else error[:1000],
    )  # fmt: skip


async def stored_cursor(conn: asyncpg.Connection, connector: str) -> Cursor:
    """The cursor of the last successful run ({} if the connector never ran)."""
    text = await conn.fetchval("SELECT cursor FROM pull_connectors WHERE connector = $1", connector)
    return {} if text is None else dict(orjson.loads(text))


async def states(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT connector, holder, lease_expires_at, done_tick, failures, retry_at, last_success_at, last_error "
        "FROM pull_connectors"
    )
    return {r["connector"]: r for r in rows}
