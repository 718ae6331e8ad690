"""The alerter's work: evaluate targets (on each rollup and on a clock), keep alert state, talk to Alertmanager.

Two or more alerter processes are safe: every process consumes its share of dx.rollups.v1 partitions and writes
`target_status` (idempotent upserts, newest evaluation wins), then NOTIFYs the pairs it changed. Only the holder
of the leader lease (one row in `alerter_lease`, expiry on the database clock) changes alert state and talks to
Alertmanager: it LISTENs for those notifications and reconciles `alerts` against `target_status`. Each
reconciliation is one transaction that first locks the lease row FOR SHARE (a would-be leader's UPDATE waits for
it, so a deposed leader cannot interleave with its successor), and calls Alertmanager before committing: a failed
or interrupted send changes nothing and is redone. A new leader re-sends what is firing with the stored startsAt
(Alertmanager merges identical label sets: no duplicate notification) and resolves what cleared meanwhile.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from services.alerter import store
from services.alerter.alertmanager import AlertSink
from services.alerter.clock import Clock
from services.alerter.evaluator import Inputs, Pair, evaluate, gone_keys, history_query, keys_for
from services.alerter.metrics import AlerterMetrics, Snapshot
from services.alerter.rules import Describe, Plan, TargetRow, Timing, Tracked, alerts_for, step
from services.alerter.settings import AlerterSettings
from shared.contracts.alerts import AlertV1, alert_from_outbox
from shared.contracts.topics import parse_notify
from shared.domain.catalog import Catalog
from shared.domain.forecast import ForecastConfig
from shared.domain.hierarchy import Hierarchy
from shared.domain.status import evaluation_keys
from shared.domain.timeutil import local_date

log = logging.getLogger("dxmon.alerter")


class AlertPublisher:
    """Where transitions go (dx.alerts.v1); services/alerter/kafka.py in production."""

    async def publish(self, alert: AlertV1) -> None:
        raise NotImplementedError


class Alerter:
    def __init__(
        self,
        settings: AlerterSettings,
        catalog: Catalog,
        hierarchy: Hierarchy,
        pool: asyncpg.Pool,
        sink: AlertSink,
        publisher: AlertPublisher,
        metrics: AlerterMetrics,
        clock: Clock,
    ) -> None:
        self.settings, self.catalog, self.hierarchy, self.pool = settings, catalog, hierarchy, pool
        self.sink, self.publisher, self.metrics, self.clock = sink, publisher, metrics, clock
        self.holder = settings.alerter_instance or f"{socket.gethostname()}:{os.getpid()}"
        s = settings
        self.forecast = ForecastConfig(s.alerter_forecast_window_days, s.alerter_forecast_min_points,
                                       s.alerter_forecast_periods)  # fmt: skip
        self.timing = Timing(
            timedelta(seconds=settings.alerter_grace_seconds),
            timedelta(seconds=settings.alerter_resend_seconds),
            timedelta(seconds=settings.alert_lease_seconds),
            timedelta(seconds=settings.alerter_keep_firing_seconds),
        )
        self.queued: set[Pair] = set()
        self.wake = asyncio.Event()
        self.leader = False
        self.full_due = False
        # The aggregator's backlog in messages (None: unknown); main.py wires the probe. Left None, nothing is held.
        self.backlog: Callable[[], int | None] | None = None
        self.clear_since: float | None = None  # monotonic time the backlog was first seen small
        self.full_started: float | None = None  # monotonic start of the last full evaluation that completed
        self.hold = False
        self.evaluate_now = asyncio.Event()  # the backlog cleared: a full evaluation need not wait for its clock

    async def evaluate(self, pairs: list[Pair] | None, trigger: str) -> list[TargetRow]:
        """Evaluate the targets of `pairs` (None: every target) and store them; partial runs wake the leader."""
        now = self.clock.now()
        today = local_date(now)
        started = time.monotonic()
        if pairs is None:
            keys = evaluation_keys(self.catalog.indicators, self.hierarchy, today)
            keys += gone_keys(self.catalog, self.hierarchy, today)  # not_applicable rows of vanished units
        else:
            keys = keys_for(self.catalog, self.hierarchy, pairs, today)
        query = history_query(self.catalog, {(k[0], k[1]) for k in keys}, today, self.forecast)
        async with self.pool.acquire() as conn:
            inputs = await store.load_inputs(conn, query)
            rows = evaluate(self.catalog, self.hierarchy, keys, inputs, now, self.forecast)
            await store.write_status(conn, rows, now, complete=pairs is None, notify=pairs is not None)
        self.metrics.evaluations.labels(trigger).inc(len(rows))
        self._gauges(inputs, rows, full=pairs is None)
        if pairs is None:
            self.full_started = started
        return rows

    def holding(self) -> bool:
        """New alerts wait while the aggregator's backlog is unknown or above DX_ALERTER_HOLD_BACKLOG_MESSAGES, and
        then until a full evaluation that started after it cleared has completed: until then target_status may
        judge a unit on the part of its events applied so far (docs/alerts-and-metrics.md "Held alerts")."""
        if self.backlog is None:
            return False
        messages = self.backlog()
        if messages is None or messages > self.settings.alerter_hold_backlog_messages:
            self.clear_since = None
            return True
        if self.clear_since is None:
            self.clear_since = time.monotonic()
            self.evaluate_now.set()
        return self.full_started is None or self.full_started < self.clear_since

    def _update_hold(self) -> None:
        hold = self.holding()
        if hold != self.hold:
            messages = self.backlog() if self.backlog else None
            if hold:
                log.info("new alerts held: the aggregator's backlog is %s messages", messages)
            else:
                log.info("alerts no longer held: the aggregator has caught up (%s messages)", messages)
        self.hold = hold
        self.metrics.held.set(1 if hold else 0)

    def _gauges(self, inputs: Inputs, rows: list[TargetRow], full: bool) -> None:
        if not full:
            self.metrics.domain.update(inputs.current, rows)
            return
        day = local_date(self.clock.now())
        units = self.hierarchy.units_in_force(day)
        codes = {u.code for u in units}
        current = {p: c for p, c in inputs.current.items() if p[1] in codes}
        targets = {(r.indicator, r.unit, r.milestone): r for r in rows}
        self.metrics.domain.snapshot = Snapshot(current, targets, units)

    def describe(self, row: TargetRow) -> Describe:
        ind = self.catalog[row.indicator]
        day = min(local_date(self.clock.now()), ind.targets[row.milestone].deadline)
        unit = self.hierarchy.resolve(row.unit, day)
        dashboard = f"{self.settings.grafana_url}{self.settings.alerter_dashboard_path}"
        link = f"{dashboard}?var-indicator={row.indicator}&var-unit={row.unit}"
        name = unit.full_name if unit else row.unit
        days = ind.reporting_interval_days
        return Describe(ind.label_vi, ind.pillar, ind.display_unit, name, days, link, self.settings.runbook_url)

    def decide(self, rows: list[TargetRow], active: dict[str, Tracked]) -> Plan:
        known = [r for r in rows if self.catalog.get(r.indicator) is not None]
        desired = [a for r in known for a in alerts_for(r, self.describe(r))]
        return step(active, desired, datetime.now(UTC), self.timing, hold=self.hold)

    async def reconcile(self, pairs: list[Pair] | None) -> Plan | None:
        """One fenced step of the alert state (None: not the leader)."""
        self._update_hold()
        async with self.pool.acquire() as conn:
            plan = await self._fenced_step(conn, pairs)
            if plan is not None:
                for t in plan.transitions:
                    log.info("alert %s %s → %s %s", t.alert.alertname, t.from_state, t.to_state, t.alert.labels)
                counts = await store.firing_counts(conn)
                self.metrics.firing.clear()
                for (name, severity), n in counts.items():
                    self.metrics.firing.labels(name, severity).set(n)
        return plan

    async def _fenced_step(self, conn: asyncpg.Connection, pairs: list[Pair] | None) -> Plan | None:
        """Read, decide, store and send under the lease, in one transaction; None when another holds it."""
        async with store.fenced(conn, self.holder) as leader:
            if not leader:
                return None
            plan = self.decide(await store.read_status(conn, pairs), await store.active_alerts(conn, pairs))
            await store.save_plan(conn, plan)
            if plan.sends:
                await self.sink.send(plan.sends)
            return plan

    async def publish_outbox(self) -> None:
        """Publish recorded transitions to dx.alerts.v1 (key = fingerprint), then mark them published."""
        async with self.pool.acquire() as conn:
            rows = await store.unpublished(conn)
            for r in rows:
                await self.publisher.publish(alert_from_outbox(r))
            if rows:
                await store.mark_published(conn, [r["id"] for r in rows])

    def on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.queued |= parse_notify(payload)
        self.wake.set()

    def reconcile_all_soon(self) -> None:
        """Notifications may have been missed (the LISTEN connection was reopened): reconcile every pair."""
        self.full_due = True
        self.wake.set()

    async def leader_step(self, full: bool) -> bool:
        """Renew (or take) the lease; as leader, reconcile the queued pairs (or all) and publish. True if leader."""
        async with self.pool.acquire() as conn:
            leader = await store.try_lease(conn, self.holder, self.settings.alerter_leader_lease_seconds)
        if leader != self.leader:
            log.info("%s the leader lease (%s)", "took" if leader else "lost", self.holder)
            self.leader = leader
            full = True
        if not leader:
            self.metrics.firing.clear()
            self.metrics.held.set(0)
            return False
        was_held = self.hold
        self._update_hold()  # on every step, not only when something is reconciled: a hold that clears while
        if was_held and not self.hold:  # nothing else wakes the leader (an hour-long reconcile interval) releases
            full = True  # the alerts it kept back now
        pairs, self.queued = sorted(self.queued), set()
        if full or pairs:
            await self.reconcile(None if full else pairs)
        await self.publish_outbox()
        return True

    async def leader_loop(self) -> None:
        """The leader loop: lease renewal, reconciliation on notifications and on a clock, outbox publication."""
        loop = asyncio.get_running_loop()
        next_full = 0.0
        tick = min(1.0, self.settings.alerter_leader_lease_seconds / 3)
        while True:
            full = loop.time() >= next_full or self.full_due
            self.full_due = False
            self.wake.clear()
            try:
                if await self.leader_step(full) and full:
                    next_full = loop.time() + self.settings.alerter_reconcile_seconds
            except Exception:
                log.exception("alert reconciliation failed; retrying")
                next_full = loop.time() + tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=tick)

    async def evaluation_loop(self) -> None:
        """Evaluate every target, then wake the leader for a full reconciliation; repeat every eval interval."""
        while True:
            try:
                rows = await self.evaluate(None, "periodic")
                log.info("evaluated %d targets", len(rows))
            except Exception:
                log.exception("periodic evaluation failed")
            self.full_due = True
            self.wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.evaluate_now.wait(), timeout=self.settings.alerter_eval_interval_seconds)
            self.evaluate_now.clear()

    async def release(self) -> None:
        async with self.pool.acquire() as conn:
            await store.release_lease(conn, self.holder)
