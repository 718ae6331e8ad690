"""Held alerts: while the aggregator has a backlog nothing starts, fires or resolves, and firing alerts are still
re-sent; the hold lasts until a full evaluation that started after the backlog cleared has completed."""

from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import TopicPartition

from services.alerter.metrics import build_metrics
from services.alerter.rules import Describe, TargetRow, Timing, Tracked, alerts_for, step
from services.alerter.service import Alerter
from services.alerter.settings import AlerterSettings
from shared.adapters.backlog import backlog_messages
from shared.domain.status import Status

T0 = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
TIMING = Timing(grace=timedelta(minutes=5), resend=timedelta(minutes=1), lease=timedelta(minutes=4))
DESCRIBE = Describe("Tỷ lệ kiểm thử", "gov", "%", "Xã Tân Thành", 30, "http://grafana/d/x")


def row(status: Status, stale: bool = False) -> TargetRow:
    return TargetRow("gov.x", "16000", "2030", 40.0, 47.3, 80.0, 55.0, status, "Hiện 40%", stale, T0)


def tracked(status: Status, state: str, since: datetime, sent: datetime | None = None) -> Tracked:
    (a,) = alerts_for(row(status), DESCRIBE)
    starts = since if state == "firing" else None
    return Tracked(a.fingerprint, a.alertname, a.indicator, a.unit, a.milestone, a.labels, a.annotations, state,
                   since, starts, starts and starts + TIMING.lease, sent)  # fmt: skip


def test_a_held_step_starts_no_alert_for_a_condition_that_holds() -> None:
    plan = step({}, alerts_for(row(Status.ON_TRACK, stale=True), DESCRIBE), T0, TIMING, hold=True)
    assert (plan.changed, plan.transitions, plan.sends) == ([], [], [])


def test_a_held_step_drops_a_pending_alert_so_its_grace_period_runs_again_on_final_values() -> None:
    """Pending since before the hold (on values still arriving), past its grace when the hold ends: it must not
    fire at once on the first final evaluation."""
    pending = tracked(Status.BEHIND, "pending", T0)
    desired = alerts_for(row(Status.BEHIND), DESCRIBE)
    held = T0 + timedelta(hours=1)
    plan = step({pending.fingerprint: pending}, desired, held, TIMING, hold=True)
    assert [(t.from_state, t.to_state) for t in plan.transitions] == [("pending", "inactive")]
    assert plan.sends == [] and [a.state for a in plan.changed] == ["inactive"]
    after = step({}, desired, held + timedelta(seconds=1), TIMING)  # the hold ended: pending again, from now
    assert [(a.state, a.active_since) for a in after.changed] == [("pending", held + timedelta(seconds=1))]
    assert after.sends == []


def test_a_held_step_keeps_a_firing_alert_whose_condition_cleared_and_re_sends_it() -> None:
    firing = tracked(Status.BEHIND, "firing", T0, sent=T0)
    later = T0 + timedelta(minutes=2)
    plan = step({firing.fingerprint: firing}, [], later, TIMING, hold=True)
    assert plan.transitions == []
    (sent,) = plan.sends
    assert (sent.state, sent.starts_at, sent.ends_at, sent.last_sent_at) == ("firing", T0, later + TIMING.lease, later)
    assert plan.changed == [sent]
    unheld = step({firing.fingerprint: firing}, [], later, TIMING)
    assert [(t.from_state, t.to_state) for t in unheld.transitions] == [("firing", "resolved")]


class _Nowhere:
    async def send(self, alerts: Any) -> None:
        raise AssertionError("not called")


def alerter(backlog: list[int | None]) -> Alerter:
    settings = AlerterSettings(alerter_hold_backlog_messages=1000)
    a = Alerter(settings, None, None, None, _Nowhere(), None, build_metrics(), None)  # type: ignore[arg-type]
    a.backlog = lambda: backlog[0]
    return a


def test_alerts_are_held_while_the_backlog_is_unknown_or_large_then_until_a_full_evaluation_after_it() -> None:
    backlog: list[int | None] = [None]
    a = alerter(backlog)
    a.full_started = 0.0  # a full evaluation long before
    assert a.holding()
    backlog[0] = 1001
    assert a.holding()
    backlog[0] = 1000
    assert a.holding(), "the last full evaluation started before the backlog cleared"
    assert a.evaluate_now.is_set(), "the evaluation loop is woken rather than waiting for its clock"
    assert a.clear_since is not None
    a.full_started = a.clear_since + 0.001
    assert not a.holding()
    backlog[0] = 5000  # a new backfill: held again
    assert a.holding()
    assert a.clear_since is None


def test_without_a_backlog_probe_nothing_is_held() -> None:
    a = alerter([None])
    a.backlog = None
    assert not a.holding()


def test_the_backlog_leaves_out_the_commit_marker_each_caught_up_partition_ends_with() -> None:
    tp = [TopicPartition("dx.events.v1", p) for p in range(3)]
    end = {tp[0]: 101, tp[1]: 0, tp[2]: 5000}
    committed = {tp[0]: 100}  # caught up (offset 100 is the marker); partition 2 never applied
    assert backlog_messages(end, committed) == 0 + 0 + 4999


def test_the_held_gauge_follows_the_leaders_hold() -> None:
    a = alerter([5000])
    a._update_hold()
    assert a.metrics.held._value.get() == 1
    a.backlog = None
    a._update_hold()
    assert a.metrics.held._value.get() == 0
