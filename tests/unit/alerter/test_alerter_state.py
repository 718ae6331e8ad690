"""The alert state machine: grace period, startsAt fixed at first firing, lease re-sends, resolution."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.alerter.rules import Alert, Describe, TargetRow, Timing, Tracked, alerts_for, step, to_alertmanager
from shared.domain.status import Status

T0 = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
TIMING = Timing(grace=timedelta(minutes=5), resend=timedelta(minutes=1), lease=timedelta(minutes=4))
DESCRIBE = Describe("Tỷ lệ kiểm thử", "gov", "%", "Tỉnh Thanh Hóa", 30, "http://grafana/d/x", "http://oncall/runbook")


def row(status: Status, stale: bool = False) -> TargetRow:
    return TargetRow("gov.x", "38", "2030", 40.0, 47.3, 80.0, 55.0, status, "Hiện 40%, kế hoạch 47,3%", stale, T0)


def run(
    active: dict[str, Tracked], desired: list[Alert], at: datetime
) -> tuple[dict[str, Tracked], list[tuple[str, str]], list[Tracked]]:
    plan = step(active, desired, at, TIMING)
    after = dict(active)
    for a in plan.changed:
        if a.state in ("pending", "firing"):
            after[a.fingerprint] = a
        else:
            after.pop(a.fingerprint, None)
    return after, [(t.from_state, t.to_state) for t in plan.transitions], plan.sends


def test_a_behind_target_gives_one_warning_identified_by_indicator_unit_and_milestone() -> None:
    (alert,) = alerts_for(row(Status.BEHIND), DESCRIBE)
    assert alert.labels == {
        "alertname": "DxTargetBehind", "indicator": "gov.x", "unit": "38",
        "milestone": "2030", "severity": "warning", "pillar": "gov",
    }  # fmt: skip
    assert "47,3%" in alert.annotations["description"] and "55%" in alert.annotations["description"]


def test_the_unit_name_and_the_links_are_annotations_alertmanager_templates_know() -> None:
    """A renamed unit must not change an alert's identity; `dashboard_url`/`runbook_url` are the names Grafana and
    Alertmanager templates read (a `grafana` annotation is read by nothing)."""
    (alert,) = alerts_for(row(Status.BEHIND), DESCRIBE)
    assert {k: alert.annotations[k] for k in ("unit_name", "dashboard_url", "runbook_url")} == {
        "unit_name": "Tỉnh Thanh Hóa",
        "dashboard_url": "http://grafana/d/x",
        "runbook_url": "http://oncall/runbook#dxtargetbehind",
    }
    assert "grafana" not in alert.annotations
    tracked = Tracked(alert.fingerprint, alert.alertname, "gov.x", "38", "2030", alert.labels, alert.annotations,
                      "firing", T0, T0, T0 + timedelta(minutes=4))  # fmt: skip
    assert to_alertmanager(tracked)["generatorURL"] == "http://grafana/d/x"


def test_on_track_and_stale_data_gives_only_the_stale_alert() -> None:
    assert [a.alertname for a in alerts_for(row(Status.ON_TRACK, stale=True), DESCRIBE)] == ["DxIndicatorStale"]


def test_a_missed_target_is_critical() -> None:
    assert alerts_for(row(Status.MISSED), DESCRIBE)[0].labels["severity"] == "critical"


def test_a_condition_shorter_than_the_grace_period_never_reaches_alertmanager() -> None:
    desired = alerts_for(row(Status.BEHIND), DESCRIBE)
    active, moves, sends = run({}, desired, T0)
    assert moves == [("inactive", "pending")] and sends == []
    active, moves, sends = run(active, desired, T0 + timedelta(minutes=4))
    assert moves == [] and sends == []
    active, moves, sends = run(active, [], T0 + timedelta(minutes=4, seconds=30))
    assert moves == [("pending", "inactive")] and sends == [] and active == {}


def test_a_condition_that_outlasts_the_grace_period_fires_with_a_fixed_start_and_is_resent_with_a_lease() -> None:
    desired = alerts_for(row(Status.BEHIND), DESCRIBE)
    active, _, _ = run({}, desired, T0)
    active, moves, sends = run(active, desired, T0 + timedelta(minutes=5))
    assert moves == [("pending", "firing")]
    (fired,) = sends
    body = to_alertmanager(fired)
    assert body["startsAt"] == (T0 + timedelta(minutes=5)).isoformat()
    assert body["endsAt"] == (T0 + timedelta(minutes=9)).isoformat()
    active, moves, sends = run(active, desired, T0 + timedelta(minutes=5, seconds=30))
    assert moves == [] and sends == []  # not yet due for a re-send
    active, moves, sends = run(active, desired, T0 + timedelta(minutes=6))
    assert moves == [] and to_alertmanager(sends[0])["startsAt"] == body["startsAt"]
    assert to_alertmanager(sends[0])["endsAt"] == (T0 + timedelta(minutes=10)).isoformat()


def test_a_firing_alert_whose_condition_clears_is_resolved_with_ends_at_now() -> None:
    desired = alerts_for(row(Status.MISSED), DESCRIBE)
    active, _, _ = run({}, desired, T0)
    active, _, _ = run(active, desired, T0 + timedelta(minutes=5))
    active, moves, sends = run(active, [], T0 + timedelta(minutes=7))
    assert moves == [("firing", "resolved")] and active == {}
    assert to_alertmanager(sends[0])["endsAt"] == (T0 + timedelta(minutes=7)).isoformat()


def test_with_no_grace_an_alert_fires_at_the_first_evaluation() -> None:
    plan = step({}, alerts_for(row(Status.AT_RISK), DESCRIBE), T0, Timing(timedelta(0), TIMING.resend, TIMING.lease))
    assert [(t.from_state, t.to_state) for t in plan.transitions] == [("inactive", "pending"), ("pending", "firing")]
    assert len(plan.sends) == 1


def test_renaming_the_unit_or_moving_the_pillar_neither_resolves_a_firing_alert_nor_pages_again() -> None:
    desired = alerts_for(row(Status.BEHIND), DESCRIBE)
    active, _, _ = run({}, desired, T0)
    active, _, _ = run(active, desired, T0 + timedelta(minutes=5))
    (firing,) = active.values()
    renamed = replace(DESCRIBE, unit_name="Tỉnh Thanh Hóa (mới)", pillar="soc")
    again = alerts_for(row(Status.BEHIND), renamed)
    assert [a.fingerprint for a in again] == [firing.fingerprint]
    active, moves, sends = run(active, again, T0 + timedelta(minutes=5, seconds=30))
    assert moves == [] and sends == []  # within the resend interval: nothing goes to Alertmanager
    (still,) = active.values()
    assert (still.state, still.starts_at, still.labels) == ("firing", firing.starts_at, firing.labels)
    assert still.annotations["unit_name"] == "Tỉnh Thanh Hóa (mới)"


KEEP = replace(TIMING, keep_firing=timedelta(minutes=5))


def test_a_firing_alert_whose_condition_clears_stays_firing_through_the_keep_firing_period_then_resolves() -> None:
    """A condition that flickers (a noisy value near the plan's line) must not page, resolve and page again."""
    (alert,) = alerts_for(row(Status.BEHIND), DESCRIBE)
    firing = Tracked(alert.fingerprint, alert.alertname, "gov.x", "38", "2030", alert.labels, alert.annotations,
                     "firing", T0, T0, T0 + TIMING.lease, T0)  # fmt: skip
    cleared = step({firing.fingerprint: firing}, [], T0 + timedelta(seconds=30), KEEP)
    assert cleared.transitions == [] and cleared.sends == []
    (kept,) = cleared.changed
    assert (kept.state, kept.cleared_since) == ("firing", T0 + timedelta(seconds=30))
    later = step({kept.fingerprint: kept}, [], T0 + timedelta(minutes=2), KEEP)  # still clear: re-sent, not resolved
    assert later.transitions == [] and [a.state for a in later.sends] == ["firing"]
    (kept,) = later.changed
    done = step({kept.fingerprint: kept}, [], T0 + timedelta(seconds=330), KEEP)
    assert [(t.from_state, t.to_state) for t in done.transitions] == [("firing", "resolved")]
    assert [(a.state, a.ends_at) for a in done.sends] == [("resolved", T0 + timedelta(seconds=330))]


def test_a_condition_that_returns_within_the_keep_firing_period_keeps_the_alert_firing_without_a_new_page() -> None:
    (alert,) = alerts_for(row(Status.BEHIND), DESCRIBE)
    firing = Tracked(alert.fingerprint, alert.alertname, "gov.x", "38", "2030", alert.labels, alert.annotations,
                     "firing", T0, T0, T0 + TIMING.lease, T0)  # fmt: skip
    (kept,) = step({firing.fingerprint: firing}, [], T0 + timedelta(seconds=30), KEEP).changed
    back = step({kept.fingerprint: kept}, [alert], T0 + timedelta(seconds=40), KEEP)
    assert back.transitions == [] and back.sends == []
    (again,) = back.changed
    assert (again.state, again.starts_at, again.cleared_since) == ("firing", T0, None)
    # cleared again later: the keep-firing period starts over from then
    (kept,) = step({again.fingerprint: again}, [], T0 + timedelta(minutes=4), KEEP).changed
    assert step({kept.fingerprint: kept}, [], T0 + timedelta(minutes=8), KEEP).transitions == []
