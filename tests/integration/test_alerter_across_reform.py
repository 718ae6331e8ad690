"""Alerts across the 2025-07-01 reform (docs/lineage.md): a commune with one unchanged predecessor carries its value,
and with it its alerts, so an alert that fired before the change stays the same firing alert after it (no
resolve-and-refire page). Values come from the real aggregator and database; the alerter judges at chosen dates."""

from datetime import UTC, datetime

from services.alerter import store
from services.alerter.clock import FixedClock
from services.alerter.metrics import build_metrics
from services.alerter.rules import Plan
from services.alerter.service import Alerter
from services.alerter.settings import AlerterSettings
from shared.adapters.postgres import create_pool
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings
from tests.integration.test_aggregator_harness import all_applied, event, running, send
from tests.integration.test_alerter_evaluation import Outbox, Sink
from tests.support.db import fetch
from tests.support.env import eventually

EID = "gov.eid_users"
TAM_CHUNG = "14848"  # Xã Tam Chung: the same commune, code and name before and after 2025-07-01
BEFORE = datetime(2025, 6, 28, 5, 0, tzinfo=UTC)
AFTER = datetime(2025, 7, 3, 5, 0, tzinfo=UTC)


async def test_an_alert_of_a_commune_with_one_unchanged_predecessor_stays_firing_across_2025_07_01(
    isolated: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    async with running(isolated):
        await send(isolated, [event(EID, TAM_CHUNG, "2025-03-01T09:00:00+07:00", 1, 10)])  # 10 %: far behind
        await eventually(lambda: all_applied(isolated, 1))
    settings = AlerterSettings(**{**isolated.model_dump(), "alerter_grace_seconds": 0})
    clock = FixedClock(BEFORE)
    pool = await create_pool(settings)
    sink = Sink()
    alerter = Alerter(settings, catalog, hierarchy, pool, sink, Outbox(), build_metrics(), clock)
    pair = [(EID, TAM_CHUNG)]
    try:
        async with pool.acquire() as conn:
            assert await store.try_lease(conn, alerter.holder, 60)
        before = {r.milestone: r for r in await alerter.evaluate(pair, "test")}
        first: Plan | None = await alerter.reconcile(pair)
        clock.at = AFTER
        after = {r.milestone: r for r in await alerter.evaluate(pair, "test")}
        second: Plan | None = await alerter.reconcile(pair)
    finally:
        await pool.close()
    assert first is not None and second is not None
    for milestone in ("2025", "2030"):  # the value is carried unchanged, so is the judgement
        assert before[milestone].value == after[milestone].value == 10
        assert before[milestone].status == after[milestone].status
    fired = {t.alert.fingerprint for t in first.transitions if t.to_state == "firing"}
    assert fired, "the 10 % commune must have raised an alert before the reform"
    assert [t for t in second.transitions if t.alert.fingerprint in fired] == []  # no resolve, no re-pend
    rows = await fetch(isolated, "SELECT fingerprint, state FROM alerts WHERE unit = $1", TAM_CHUNG)
    assert {r["fingerprint"]: r["state"] for r in rows if r["fingerprint"] in fired} == dict.fromkeys(fired, "firing")
    assert {a.fingerprint for a in sink.sent} >= fired
