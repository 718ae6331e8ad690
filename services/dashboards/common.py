"""What every dashboard shares: the page itself, status colours and labels, thresholds, and serialisation."""

import json
from typing import Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import StackingMode
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMapping,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from services.dashboards import datasources
from services.dashboards.queries import Sql, sql_text
from shared import names
from shared.domain.status import STATUS_ORDER, STATUS_VI, Status

Json = dict[str, Any]

# Target statuses (docs/targets-and-statuses.md) worst first, as `dx status` sorts them, with label and colour.
_COLOURS: dict[Status, str] = {
    Status.MISSED: "dark-red",
    Status.AT_RISK: "orange",
    Status.BEHIND: "red",
    Status.NO_DATA: "purple",
    Status.PENDING: "blue",
    Status.ON_TRACK: "green",
    Status.ACHIEVED: "dark-green",
    Status.NOT_APPLICABLE: "text",
}
STATUSES: tuple[tuple[str, str, str], ...] = tuple(
    (str(s), STATUS_VI[s], _COLOURS[s]) for s in sorted(Status, key=STATUS_ORDER.__getitem__)
)

TAG = "dxmon"
# Hidden ASCII-named columns that carry a row's codes for its data links (services/dashboards/links.py).
UNIT_FIELD = "unit_code"
INDICATOR_FIELD = "indicator_code"

# Grafana's own "Annotations & Alerts" entry, which every dashboard it saves carries.
_BUILT_IN_ANNOTATIONS: Json = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def status_rank_sql(column: str) -> str:
    """SQL ranking a status column worst first (0 = missed, as STATUS_ORDER), for ORDER BY."""
    whens = " ".join(f"WHEN '{code}' THEN {rank}" for rank, (code, _, _) in enumerate(STATUSES))
    return f"CASE {column} {whens} ELSE 99 END"


def status_label_sql(column: str) -> str:
    """SQL: a status column's Vietnamese label."""
    whens = " ".join(f"WHEN '{code}' THEN '{label}'" for code, label, _ in STATUSES)
    return f"CASE {column} {whens} ELSE {column} END"


def status_count_columns(column: str) -> str:
    """SQL select-list: one count column per status, named by its Vietnamese label, worst first."""
    return ", ".join(f"count(*) FILTER (WHERE {column} = '{code}') AS \"{label}\"" for code, label, _ in STATUSES)


def status_colour_overrides() -> list[tuple[str, list[DynamicConfigValue]]]:
    """Per-status-column fixed colours, for panels built on `status_count_columns`."""
    return [
        (label, [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": colour})]) for _, label, colour in STATUSES
    ]


def dashboard(
    uid: str, title: str, description: str, time_from: str = "now-6h", time_to: str = "now"
) -> dash.Dashboard:
    """A dxmon dashboard: fixed uid, local time zone, links to its siblings."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .timezone(names.TIMEZONE)
        .time(time_from, time_to)
        .refresh("30s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .link(
            dash.DashboardLink("Bảng điều khiển dxmon")
            .type(DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(False)
            .target_blank(False)
        )
    )


# Alert states (alerts / alert_history) and freshness labels, in Vietnamese.
_OTHER_TEXTS: tuple[tuple[str, str, str], ...] = (
    ("firing", "Đang cảnh báo", "red"),
    ("pending", "Chờ xác nhận", "orange"),
    ("resolved", "Đã hết", "green"),
    ("inactive", "Không hoạt động", "text"),
    ("critical", "Nghiêm trọng", "red"),
    ("warning", "Cảnh báo", "orange"),
    ("Quá hạn báo cáo", "Quá hạn báo cáo", "red"),
    ("Đúng hạn", "Đúng hạn", "green"),
)


def status_mappings() -> list[ValueMapping]:
    """Value mappings: status, alert state and severity codes → Vietnamese text and colour."""
    texts = (*STATUSES, *_OTHER_TEXTS)
    return [
        ValueMap(
            options={
                code: ValueMappingResult(text=label, color=color, index=i)
                for i, (code, label, color) in enumerate(texts)
            }
        )
    ]


def status_table(title: str, sql: str, height: int, description: str = "") -> table.Panel:
    """A full-width PostgreSQL table whose status codes read in Vietnamese; callers add their column overrides."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .with_target(Sql(sql))
        .height(height)
        .span(24)
        .mappings(status_mappings())
    )
    for name in (UNIT_FIELD, INDICATOR_FIELD):
        if name in sql:
            panel = panel.override_by_name(name, [DynamicConfigValue("custom.hidden", True)])
    return panel


def sql_variable(name: str, label: str, sql: str, current: VariableOption | None = None) -> dash.QueryVariable:
    """A dashboard variable whose options a PostgreSQL query lists (`__value`, `__text`), in the query's order."""
    variable = (
        dash.QueryVariable(name)
        .label(label)
        .datasource(datasources.postgres())
        .query(sql_text(sql))
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.DISABLED)
    )
    return variable.current(current) if current is not None else variable


def all_rows(limit: int = 50) -> common_builders.ReduceDataOptions:
    """Show every row of a table result (stat / bar gauge), not one reduced value."""
    return common_builders.ReduceDataOptions().values(True).limit(limit).calcs(["lastNotNull"])


def stacked(mode: StackingMode) -> common_builders.StackingConfig:
    return common_builders.StackingConfig().mode(mode).group("A")


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    """Absolute thresholds; the first step's value is None (the base colour)."""
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def to_json(builder: dash.Dashboard, annotations: list[Json] | None = None) -> Json:
    """The dashboard as plain JSON data, every panel (rows included) numbered 1, 2, … in order; `annotations`
    (JSON as Grafana saves it) come after Grafana's built-in one."""
    data: Json = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    listed = [_BUILT_IN_ANNOTATIONS, *data.get("annotations", {}).get("list", []), *(annotations or [])]
    data["annotations"] = {"list": listed}
    data.setdefault("templating", {}).setdefault("list", [])
    next_id = 1
    for panel in data.get("panels", []):
        for each in [panel, *panel.get("panels", [])]:
            each["id"] = next_id
            next_id += 1
            _panel_datasource(each)
    return data


def _panel_datasource(panel: Json) -> None:
    """Give a panel the data source of its queries (all of one panel's queries use the same one)."""
    sources = {json.dumps(t["datasource"], sort_keys=True) for t in panel.get("targets", []) if "datasource" in t}
    if len(sources) > 1:
        raise ValueError(f"panel {panel.get('title')!r} mixes data sources: {sorted(sources)}")
    if sources:
        panel["datasource"] = json.loads(sources.pop())


def render(data: Json) -> str:
    """Deterministic text of a dashboard file: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
