"""PostgreSQL access of the alerter: bulk history loading, target_status, the leader lease, alert state."""

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.alerter.evaluator import Current, HistoryQuery, Inputs, Pair
from services.alerter.rules import Plan, TargetRow, Tracked
from shared.contracts.topics import CHANNEL_ALERTER, notify_payloads
from shared.domain.status import Status
from shared.domain.trajectory import History

LEASE = "alerter"

_HISTORY = """
WITH p AS (SELECT * FROM unnest($1::text[], $2::text[]) AS p(indicator, unit)),
     q AS (SELECT * FROM unnest($6::text[], $7::text[]) AS q(indicator, unit))
SELECT v.indicator, v.unit, v.day, v.value::float8 AS value
  FROM p JOIN daily_values v USING (indicator, unit) WHERE v.day > $3 AND v.day <= $4
UNION
SELECT x.* FROM p CROSS JOIN unnest($5::date[]) AS d(day) CROSS JOIN LATERAL (
  SELECT v.indicator, v.unit, v.day, v.value::float8 FROM daily_values v
   WHERE v.indicator = p.indicator AND v.unit = p.unit AND v.day <= d.day ORDER BY v.day DESC LIMIT 1) x
UNION
SELECT x.* FROM p CROSS JOIN LATERAL (
  SELECT v.indicator, v.unit, v.day, v.value::float8 FROM daily_values v
   WHERE v.indicator = p.indicator AND v.unit = p.unit ORDER BY v.day LIMIT 1) x
UNION
SELECT x.* FROM q CROSS JOIN unnest($8::date[]) AS d(day) CROSS JOIN LATERAL (
  SELECT v.indicator, v.unit, v.day, v.value::float8 FROM daily_values v
   WHERE v.indicator = q.indicator AND v.unit = q.unit AND v.day <= d.day ORDER BY v.day DESC LIMIT 1) x
"""

# The latest value of each reference period (a yearly statistic's milestone Y is judged on period Y's value).
_PERIODS = """
SELECT v.indicator, v.unit, v.period, v.value::float8 AS value
  FROM period_values v JOIN unnest($1::text[], $2::text[]) AS p(indicator, unit) USING (indicator, unit)
 WHERE v.value IS NOT NULL
"""

_CURRENT = """
SELECT c.indicator, c.unit, c.value::float8 AS value, c.coverage, c.last_observed_at, c.carried_from,
       c.reporting_carried
  FROM current_values c JOIN unnest($1::text[], $2::text[]) AS p(indicator, unit) USING (indicator, unit)
"""

_UPSERT_STATUS = """
INSERT INTO target_status (indicator, unit, milestone, value, expected, target, projected, status, reason, stale,
                           last_observed_at, evaluated_at, written_at)
SELECT k.*, $12::timestamptz, now()
  FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
              $8::text[], $9::text[], $10::bool[], $11::timestamptz[]) AS k
 ORDER BY 1, 2, 3
ON CONFLICT (indicator, unit, milestone) DO UPDATE SET
  value = EXCLUDED.value, expected = EXCLUDED.expected, target = EXCLUDED.target, projected = EXCLUDED.projected,
  status = EXCLUDED.status, reason = EXCLUDED.reason, stale = EXCLUDED.stale,
  last_observed_at = EXCLUDED.last_observed_at, evaluated_at = EXCLUDED.evaluated_at, written_at = now()
WHERE target_status.evaluated_at <= EXCLUDED.evaluated_at
"""

_DELETE_OTHERS = """
DELETE FROM target_status t WHERE NOT EXISTS (
  SELECT 1 FROM unnest($1::text[], $2::text[], $3::text[]) AS k(i, u, m)
   WHERE k.i = t.indicator AND k.u = t.unit AND k.m = t.milestone)
"""

_SCOPE = "(indicator, unit) IN (SELECT * FROM unnest($1::text[], $2::text[]))"


def _split(pairs: Sequence[Pair]) -> tuple[list[str], list[str]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _num(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


async def load_inputs(conn: asyncpg.Connection, q: HistoryQuery) -> Inputs:
    """Daily history, period values and current values of the pairs, in three queries whatever their number."""
    inds, units = _split(q.pairs)
    p_inds, p_units = _split(q.period_pairs)
    rows = await conn.fetch(_HISTORY, inds, units, q.window_start, q.today, q.as_of, p_inds, p_units, q.year_ends)
    grouped: dict[Pair, list[tuple[Any, float]]] = {}
    for r in rows:
        grouped.setdefault((r["indicator"], r["unit"]), []).append((r["day"], r["value"]))
    periods: dict[Pair, list[tuple[str, float]]] = {}
    if q.periodic_pairs:
        for r in await conn.fetch(_PERIODS, *_split(q.periodic_pairs)):
            periods.setdefault((r["indicator"], r["unit"]), []).append((r["period"], r["value"]))
    current = await conn.fetch(_CURRENT, inds, units)
    return Inputs(
        histories={
            pair: History.of(grouped.get(pair, []), periods.get(pair, [])) for pair in grouped.keys() | periods.keys()
        },
        current={
            (r["indicator"], r["unit"]): Current(
                r["value"], r["coverage"], r["last_observed_at"], r["carried_from"], r["reporting_carried"]
            )
            for r in current
        },
    )


async def write_status(
    conn: asyncpg.Connection, rows: Sequence[TargetRow], evaluated_at: datetime, *, complete: bool, notify: bool
) -> None:
    """Upsert the rows; `complete` also deletes every row not among them; `notify` wakes the leader."""
    cols = (
        [r.indicator for r in rows], [r.unit for r in rows], [r.milestone for r in rows],
        [_num(r.value) for r in rows], [_num(r.expected) for r in rows], [_num(r.target) for r in rows],
        [_num(r.projected) for r in rows], [r.status.value for r in rows], [r.reason for r in rows],
        [r.stale for r in rows], [r.last_observed_at for r in rows],
    )  # fmt: skip
    async with conn.transaction():
        await conn.execute(_UPSERT_STATUS, *cols, evaluated_at)
        if complete:
            await conn.execute(_DELETE_OTHERS, cols[0], cols[1], cols[2])
        if notify:
            payloads = notify_payloads({(r.indicator, r.unit) for r in rows})
            for payload in payloads:
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL_ALERTER, payload)


def _row(r: asyncpg.Record) -> TargetRow:
    f = {k: (None if r[k] is None else float(r[k])) for k in ("value", "expected", "target", "projected")}
    return TargetRow(r["indicator"], r["unit"], r["milestone"], f["value"], f["expected"], f["target"],
                     f["projected"], Status(r["status"]), r["reason"], r["stale"], r["last_observed_at"])  # fmt: skip


async def read_status(conn: asyncpg.Connection, pairs: Sequence[Pair] | None = None) -> list[TargetRow]:
    if pairs is None:
        return [_row(r) for r in await conn.fetch("SELECT * FROM target_status")]
    return [_row(r) for r in await conn.fetch(f"SELECT * FROM target_status WHERE {_SCOPE}", *_split(pairs))]


async def try_lease(conn: asyncpg.Connection, holder: str, seconds: float) -> bool:
    """Take or renew the leader lease; true while `holder` holds it (database clock)."""
    got = await conn.fetchval(
        """INSERT INTO alerter_lease (name, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
           ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
             acquired_at = CASE WHEN alerter_lease.holder = EXCLUDED.holder
                                THEN alerter_lease.acquired_at ELSE now() END
           WHERE alerter_lease.holder = EXCLUDED.holder OR alerter_lease.expires_at < now()
           RETURNING holder""",
        LEASE, holder, seconds,
    )  # fmt: skip
    return bool(got == holder)


async def release_lease(conn: asyncpg.Connection, holder: str) -> None:
    await conn.execute("DELETE FROM alerter_lease WHERE name = $1 AND holder = $2", LEASE, holder)


def _tracked(r: asyncpg.Record) -> Tracked:
    return Tracked(r["fingerprint"], r["alertname"], r["indicator"], r["unit"], r["milestone"],
                   orjson.loads(r["labels"]), orjson.loads(r["annotations"]), r["state"], r["active_since"],
                   r["starts_at"], r["ends_at"], r["last_sent_at"], r["cleared_since"])  # fmt: skip


@contextlib.asynccontextmanager
async def fenced(conn: asyncpg.Connection, holder: str) -> AsyncIterator[bool]:
    """A transaction in which `holder` holds the lease (True) or not (False): the lease row is locked FOR SHARE, so
    no new leader can take it until this commits. Whatever is sent from inside (Alertmanager) is sent before the
    commit, so a failed send (an exception) changes nothing."""
    async with conn.transaction():
        yield bool(await conn.fetchval(
            "SELECT true FROM alerter_lease WHERE name = $1 AND holder = $2 AND expires_at > now() FOR SHARE",
            LEASE, holder,
        ))  # fmt: skip


async def active_alerts(conn: asyncpg.Connection, pairs: Sequence[Pair] | None) -> dict[str, Tracked]:
    """The pending and firing alerts, of these (indicator, unit) pairs or all, by fingerprint."""
    scope, args = ("", []) if pairs is None else (f" AND {_SCOPE}", list(_split(pairs)))
    active = await conn.fetch(f"SELECT * FROM alerts WHERE state IN ('pending', 'firing'){scope}", *args)
    return {r["fingerprint"]: _tracked(r) for r in active}


async def save_plan(conn: asyncpg.Connection, plan: Plan) -> None:
    """The alerts a step changed and its transitions (alert_history, published to dx.alerts.v1 later)."""
    await conn.executemany(
        """INSERT INTO alerts (fingerprint, alertname, indicator, unit, milestone, labels, annotations, state,
                               active_since, starts_at, ends_at, last_sent_at, cleared_since, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13, now())
           ON CONFLICT (fingerprint) DO UPDATE SET annotations = EXCLUDED.annotations, state = EXCLUDED.state,
             active_since = EXCLUDED.active_since, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
             last_sent_at = EXCLUDED.last_sent_at, cleared_since = EXCLUDED.cleared_since, updated_at = now()""",
        [(a.fingerprint, a.alertname, a.indicator, a.unit, a.milestone, orjson.dumps(a.labels).decode(),
          orjson.dumps(a.annotations).decode(), a.state, a.active_since, a.starts_at, a.ends_at, a.last_sent_at,
          a.cleared_since) for a in sorted(plan.changed, key=lambda a: a.fingerprint)],
    )  # fmt: skip
    await conn.executemany(
        """INSERT INTO alert_history (fingerprint, alertname, labels, annotations, from_state, to_state, starts_at,
                                      ends_at, at) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8, $9)""",
        [(t.alert.fingerprint, t.alert.alertname, orjson.dumps(t.alert.labels).decode(),
          orjson.dumps(t.alert.annotations).decode(), t.from_state, t.to_state, t.alert.starts_at, t.alert.ends_at,
          t.at) for t in plan.transitions],
    )  # fmt: skip


async def firing_counts(conn: asyncpg.Connection) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        "SELECT alertname, labels->>'severity' AS severity, count(*) AS n"
        " FROM alerts WHERE state = 'firing' GROUP BY 1, 2"
    )
    return {(r["alertname"], r["severity"]): r["n"] for r in rows}


async def unpublished(conn: asyncpg.Connection, limit: int = 500) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM alert_history WHERE published_at IS NULL ORDER BY id LIMIT $1", limit))


async def mark_published(conn: asyncpg.Connection, ids: list[int]) -> None:
    await conn.execute("UPDATE alert_history SET published_at = now() WHERE id = ANY($1::bigint[])", ids)
