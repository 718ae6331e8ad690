"""Alert rules (docs/alerts-and-metrics.md) and the alert state machine with its grace period.

Pure: no I/O, times are passed in.

A target row gives at most two alerts: one for its status (behind / at_risk / missed) and DxIndicatorStale when
its data is stale. An alert's identity is (alertname, indicator, unit code, milestone): the fingerprint hashes those
only, so renaming a unit or moving an indicator to another pillar neither resolves an alert nor pages again. States:
pending (condition true, within the grace period) → firing (startsAt fixed) → resolved (endsAt = now) once the
condition has stayed clear for the keep-firing period (a condition that flickers does not page again and again);
a pending alert whose condition clears becomes inactive without ever reaching Alertmanager.
"""

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared import names
from shared.domain.status import STATUS_VI, Status, fmt, fmt_day

ALERT_FOR_STATUS: dict[Status, tuple[str, str]] = {
    Status.BEHIND: (names.ALERT_BEHIND, "warning"),
    Status.AT_RISK: (names.ALERT_AT_RISK, "warning"),
    Status.MISSED: (names.ALERT_MISSED, "critical"),
}


@dataclass(frozen=True)
class TargetRow:
    """One row of target_status."""

    indicator: str
    unit: str
    milestone: str
    value: float | None
    expected: float | None
    target: float | None
    projected: float | None
    status: Status
    reason: str
    stale: bool = False
    last_observed_at: datetime | None = None


@dataclass(frozen=True)
class Describe:
    """What the annotations need besides the row: labels of the indicator and the unit, the Grafana link and the
    runbook (each alert links to its own section, `runbook#alertname` in lower case)."""

    label_vi: str
    pillar: str
    display_unit: str
    unit_name: str
    interval_days: int
    link: str
    runbook: str = ""


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    alertname: str
    indicator: str
    unit: str
    milestone: str
    labels: dict[str, str]
    annotations: dict[str, str]


def fingerprint(alertname: str, indicator: str, unit: str, milestone: str) -> str:
    """The alert's stable id; shared/migrations/0015_scopes_and_fingerprints.sql computes the same in SQL."""
    identity = {"alertname": alertname, "indicator": indicator, "milestone": milestone, "unit": unit}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def alerts_for(row: TargetRow, d: Describe) -> list[Alert]:
    """The alerts whose condition holds for this row."""
    wanted: list[tuple[str, str, str, str]] = []
    if row.status in ALERT_FOR_STATUS:
        name, severity = ALERT_FOR_STATUS[row.status]
        summary = f"{d.label_vi} – {d.unit_name}: {STATUS_VI[row.status].lower()} (mục tiêu {row.milestone})"
        wanted.append((name, severity, summary, row.reason))
    if row.stale:
        since = fmt_day(row.last_observed_at.date()) if row.last_observed_at else "—"
        summary = f"{d.label_vi} – {d.unit_name}: không có số liệu mới từ {since} (quá {d.interval_days} ngày)"
        wanted.append((names.ALERT_STALE, "warning", summary, f"Lần quan sát cuối: {since}"))
    alerts = []
    for name, severity, summary, why in wanted:
        labels = {
            "alertname": name,
            "indicator": row.indicator,
            "unit": row.unit,
            "milestone": row.milestone,
            "severity": severity,
            "pillar": d.pillar,
        }
        u = d.display_unit
        description = (
            f"{why}. Giá trị: {fmt(row.value, u)}; kế hoạch: {fmt(row.expected, u)}; "
            f"mục tiêu {row.milestone}: {fmt(row.target, u)}; dự báo: {fmt(row.projected, u)}."
        )
        annotations = {"summary": summary, "description": description, "unit_name": d.unit_name}
        annotations |= {"dashboard_url": d.link, "runbook_url": f"{d.runbook}#{name.lower()}" if d.runbook else ""}
        identity = fingerprint(name, row.indicator, row.unit, row.milestone)
        alerts.append(Alert(identity, name, row.indicator, row.unit, row.milestone, labels, annotations))
    return alerts


@dataclass(frozen=True)
class Tracked:
    """An alert as stored in the `alerts` table."""

    fingerprint: str
    alertname: str
    indicator: str
    unit: str
    milestone: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str
    active_since: datetime
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    last_sent_at: datetime | None = None
    cleared_since: datetime | None = None  # firing, condition clear since then (keep-firing period)


@dataclass(frozen=True)
class Transition:
    alert: Tracked
    from_state: str
    to_state: str
    at: datetime


@dataclass(frozen=True)
class Timing:
    grace: timedelta
    resend: timedelta
    lease: timedelta
    keep_firing: timedelta = timedelta(0)  # a firing alert resolves once its condition stayed clear this long


@dataclass
class Plan:
    """The outcome of one step: rows to store, transitions to record, alerts to send to Alertmanager."""

    changed: list[Tracked]
    transitions: list[Transition]
    sends: list[Tracked]


def step(active: dict[str, Tracked], desired: list[Alert], now: datetime, timing: Timing, hold: bool = False) -> Plan:
    """Advance the alerts of one scope. `active`: the pending and firing alerts of that scope. With `hold` (the
    values are not final yet: the aggregator has a backlog), nothing starts, fires or resolves: firing alerts are
    only re-sent, so Alertmanager keeps them, and pending ones are dropped, so that after the hold their grace
    period runs again on final values."""
    if hold:
        return held(active, now, timing)
    plan = Plan([], [], [])
    wanted = {a.fingerprint: a for a in desired}
    for fp, alert in wanted.items():
        current = active.get(fp)
        if current is None:
            identity = (alert.alertname, alert.indicator, alert.unit, alert.milestone)
            current = Tracked(fp, *identity, alert.labels, alert.annotations, "pending", now)
            _move(plan, current, "inactive", "pending", now)
        current = replace(current, annotations=alert.annotations, cleared_since=None)
        if current.state == "pending" and now - current.active_since >= timing.grace:
            current = replace(current, state="firing", starts_at=now, ends_at=now + timing.lease, last_sent_at=now)
            _move(plan, current, "pending", "firing", now)
            plan.sends.append(current)
        elif current.state == "firing":
            current = _renewed(plan, current, now, timing)
        if current != active.get(fp):
            plan.changed.append(current)
    for fp, current in active.items():
        if fp in wanted:
            continue
        if current.state == "firing" and now - (current.cleared_since or now) < timing.keep_firing:
            kept = _renewed(plan, replace(current, cleared_since=current.cleared_since or now), now, timing)
            if kept != current:
                plan.changed.append(kept)
            continue
        if current.state == "firing":
            done = replace(current, state="resolved", ends_at=now, last_sent_at=now, cleared_since=None)
            plan.sends.append(done)
        else:
            done = replace(current, state="inactive")
        _move(plan, done, current.state, done.state, now)
        plan.changed.append(done)
    return plan


def held(active: dict[str, Tracked], now: datetime, timing: Timing) -> Plan:
    """The step while alerts are held: re-send the firing alerts that are due, drop the pending ones (they never
    reached Alertmanager)."""
    plan = Plan([], [], [])
    for current in active.values():
        if current.state == "pending":
            dropped = replace(current, state="inactive")
            _move(plan, dropped, "pending", "inactive", now)
            plan.changed.append(dropped)
        elif current.state == "firing":
            renewed = _renewed(plan, current, now, timing)
            if renewed != current:
                plan.changed.append(renewed)
    return plan


def _renewed(plan: Plan, alert: Tracked, now: datetime, timing: Timing) -> Tracked:
    """A firing alert, re-sent with a new lease when its re-send is due (then also in `plan.sends`)."""
    if alert.last_sent_at is not None and now - alert.last_sent_at < timing.resend:
        return alert
    renewed = replace(alert, ends_at=now + timing.lease, last_sent_at=now)
    plan.sends.append(renewed)
    return renewed


def _move(plan: Plan, alert: Tracked, from_state: str, to_state: str, now: datetime) -> None:
    plan.transitions.append(Transition(alert, from_state, to_state, now))


def to_alertmanager(alert: Tracked) -> dict[str, Any]:
    """The API v2 body of one alert: startsAt fixed at first firing, endsAt the lease (or the resolution time)."""
    assert alert.starts_at is not None and alert.ends_at is not None
    return {
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": alert.starts_at.isoformat(),
        "endsAt": alert.ends_at.isoformat(),
        "generatorURL": alert.annotations.get("dashboard_url", ""),
    }
