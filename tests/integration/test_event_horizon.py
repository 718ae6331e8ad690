"""Bounded storage (docs/storage.md) against the real broker, database and `dx events prune`: applied_events is
partitioned by the month of received_at; pruning the months past the horizon changes no value; an event replayed or
resent from inside the horizon is still a duplicate; one received in a pruned month is refused, never counted
twice; an amendment within the horizon recomputes from what the pruned months left (the floors), exactly as before
pruning; an amendment of a pruned event is refused with the reason; a horizon within Kafka's retention is refused."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from shared.settings import Settings
from tests.integration.test_aggregator_amendments import retraction, tables
from tests.integration.test_aggregator_harness import LEVEL4, SATISFACTION, event, fetch, running, send
from tests.integration.test_cli_listings import dx
from tests.support.env import eventually

DTI = "overall.dti_rank"
NOW = datetime.now(UTC)
# 23:00 local (UTC+7) of a day three months back at least (its month is past a 45-day horizon): every observation
# made that day at the hours below precedes its receipt (at NOW's time of day, from 17:00 UTC on they did not)
OLD = datetime.combine((NOW + timedelta(hours=7)).date() - timedelta(days=100), time(16), UTC)
NEW = NOW - timedelta(minutes=5)  # this month: kept


def received(e: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {**e, "received_at": at.isoformat().replace("+00:00", "Z")}


def local(at: datetime, hour: int) -> str:
    """An observed_at on `at`'s local day (UTC+7) at `hour`."""
    day = (at + timedelta(hours=7)).date()
    return f"{day.isoformat()}T{hour:02d}:00:00+07:00"


async def count(settings: Settings, query: str, *args: Any) -> int:
    return int((await fetch(settings, query, *args))[0][0])


async def applied(settings: Settings, n: int) -> bool:
    return await count(settings, "SELECT count(*) FROM applied_events") >= n


async def refused(settings: Settings, n: int) -> bool:
    return await count(settings, "SELECT count(*) FROM event_refusals") >= n


async def test_pruning_keeps_every_value_and_exactly_once_holds_across_the_horizon(isolated: Settings) -> None:
    s = isolated
    # one local day of one commune: a snapshot, an increment and a period value received long ago (pruned below),
    # then later observations of that day received now (kept), each retracted after the prune
    s_old = received(event(LEVEL4, "14758", local(OLD, 9), 50, 100), OLD)
    s_new = received(event(LEVEL4, "14758", local(OLD, 15), 70, 100), NEW)
    a_old = received(event(SATISFACTION, "14758", local(OLD, 10), 3, 10), OLD)
    a_new = received(event(SATISFACTION, "14758", local(OLD, 16), 5, 10), NEW)
    p_old = received({**event(DTI, "38", local(OLD, 9), value=12.0), "period": "2025"}, OLD)
    p_new = received({**event(DTI, "38", local(OLD, 11), value=10.0), "period": "2025"}, NEW)
    kept_only = received(event(SATISFACTION, "14812", local(NEW, 0), 1, 4), NEW)  # 09:00 was ahead from 17:00 UTC
    old, new = [s_old, a_old, p_old, kept_only], [s_new, a_new, p_new]
    async with running(s):
        await send(s, old)
        await eventually(lambda: applied(s, len(old)), timeout=60)
        reference = await tables(s)  # what every retraction below must come back to
        await send(s, new)
        await eventually(lambda: applied(s, len(old) + len(new)), timeout=60)
    months = await count(s, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'applied_events'::regclass")
    assert months >= 2  # the aggregator created the old month for its events, and this one

    before = await tables(s)
    code, out, err = await dx(s, "events", "prune")
    assert code == 0, err
    assert f"pruned {OLD:%Y-%m}: 3 events (" in out and "MB) dropped" in out
    assert await tables(s) == before  # pruning changes no value
    assert await count(s, "SELECT count(*) FROM applied_events") == len(old) + len(new) - 3
    kept_from = (await fetch(s, "SELECT (max(month) + interval '1 month')::date FROM pruned_event_months"))[0][0]

    resent = received(s_new, NOW)  # the same event sent again over HTTP: another received_at
    again = [s_new, resent, s_old]  # a replay from inside the horizon, a resend, a replay from a pruned month
    gone = received(retraction(s_old), NOW)  # names an event of a pruned month
    amendments = [retraction(s_new), retraction(a_new), retraction(p_new), gone]
    # a new consumer group: this aggregator reads the topic from its start, so every message above is replayed too.
    # A message read again at its own offset is the event applied (not recorded); a copy at another offset is a
    # recorded duplicate; anything received in the pruned month is refused, whatever its offset
    replayed = 2 + 4
    async with running(s):
        await send(s, again)
        await eventually(lambda: refused(s, replayed), timeout=60)
        await send(s, amendments)
        await eventually(lambda: refused(s, replayed + 1), timeout=60)
        await eventually(lambda: applied(s, len(old) + len(new) - 3 + 3), timeout=60)
    assert await count(s, "SELECT count(*) FROM applied_events") == len(old) + len(new)  # + the 3 retractions
    reasons = sorted(r["reason"].split(":")[0] for r in await fetch(s, "SELECT reason FROM event_refusals"))
    # the old month's three and s_old once more; s_new's two copies; the amendment of the pruned original
    assert reasons == ["beyond_horizon"] * 4 + ["duplicate"] * 2 + ["unknown_original"]
    unknown = (await fetch(s, "SELECT reason FROM event_refusals WHERE reason LIKE 'unknown_original%'"))[0][0]
    assert f"since {kept_from.isoformat()}" in unknown and "pruned" in unknown
    # each retraction within the horizon fell back on what the pruned month left: the values of the old events
    assert await tables(s) == reference


async def test_a_horizon_within_kafkas_retention_is_refused_and_nothing_is_pruned(isolated: Settings) -> None:
    s = isolated
    old = received(event(SATISFACTION, "14758", local(OLD, 9), 3, 10), OLD)
    async with running(s):
        await send(s, [old])
        await eventually(lambda: applied(s, 1), timeout=60)
    code, out, err = await dx(s, "events", "prune", "--horizon-days", "20")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"dx events prune: --horizon-days 20: {s.topic_events} keeps messages for 30 days (retention.ms=2592000000): "
        "a horizon of 20 days would forget events it can still replay; give more days than that"
    ]
    code, out, _ = await dx(s, "events", "prune", "--dry-run")
    assert code == 0 and f"would prune {OLD:%Y-%m}" in out
    assert await count(s, "SELECT count(*) FROM applied_events") == 1  # neither run removed anything
    code, out, _ = await dx(s, "events", "prune", "--keep")
    assert code == 0 and "kept as pruned_events_p" in out
    kept = await fetch(s, "SELECT kept_as FROM pruned_event_months")
    assert await count(s, f"SELECT count(*) FROM {kept[0][0]}") == 1  # the month's rows, as a table of their own
    assert await count(s, "SELECT count(*) FROM applied_events") == 0
    assert str(uuid.UUID(old["event_id"])) == str((await fetch(s, f"SELECT event_id FROM {kept[0][0]}"))[0][0])
