"""*Cảnh báo*: target alerts firing now and their history (PostgreSQL), Alertmanager's own view (Prometheus).

Grafana's built-in Alertmanager data source has no query editor: panels cannot query it. It is provisioned for
Grafana Alerting (alert groups, silences), which the dashboard links to; the panels read the alerter's tables,
which mirror exactly what it sent to Alertmanager, and Alertmanager's metrics.
"""

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models.common import BigValueColorMode, GraphDrawStyle, StackingMode
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DynamicConfigValue,
    VariableOption,
)

from services.dashboards import common, datasources, links, units
from services.dashboards.common import Json
from services.dashboards.queries import Sql, promql
from shared import names

UID = "dx-alerts"
ALERT_GROUPS_URL = f"/alerting/groups?alertmanager={datasources.ALERTMANAGER_NAME}"

ALL = "__all"  # every filter's "all" choice


def _filters(unit: str, indicator: str, severity: str, milestone: str) -> str:
    """SQL condition of the four dashboard filters on the given column expressions."""
    pairs = (("unit", unit), ("indicator", indicator), ("severity", severity), ("milestone", milestone))
    return " AND ".join(f"('${name}' = '{ALL}' OR {expr} = '${name}')" for name, expr in pairs)


FIRING_FILTER = _filters("a.unit", "a.indicator", "a.labels->>'severity'", "a.milestone")
HISTORY_FILTER = _filters(
    "h.labels->>'unit'", "h.labels->>'indicator'", "h.labels->>'severity'", "h.labels->>'milestone'"
)
FIRING_SQL = f"""
    SELECT a.alertname AS "Cảnh báo", a.labels->>'severity' AS "Mức độ", i.pillar_vi AS "Trụ cột",
           coalesce(i.label_vi, a.indicator) AS "Chỉ tiêu",
           coalesce(a.annotations->>'unit_name', a.labels->>'unit_name', a.unit) AS "Địa bàn",
           a.milestone AS "Mốc", a.annotations->>'summary' AS "Tóm tắt", a.starts_at AS "Từ lúc",
           a.last_sent_at AS "Gửi Alertmanager lúc",
           a.unit AS {common.UNIT_FIELD}, a.indicator AS {common.INDICATOR_FIELD}
    FROM alerts a LEFT JOIN indicators i ON i.code = a.indicator
    WHERE a.state = 'firing' AND {FIRING_FILTER}
    ORDER BY CASE a.labels->>'severity' WHEN 'critical' THEN 0 ELSE 1 END, a.starts_at, a.alertname, a.unit
"""
HISTORY_SQL = f"""
    SELECT h.at AS "Thời điểm", h.alertname AS "Cảnh báo", h.from_state AS "Từ trạng thái",
           h.to_state AS "Sang trạng thái", h.labels->>'severity' AS "Mức độ",
           coalesce(i.label_vi, h.labels->>'indicator') AS "Chỉ tiêu",
           coalesce(h.annotations->>'unit_name', h.labels->>'unit_name', h.labels->>'unit') AS "Địa bàn",
           h.labels->>'milestone' AS "Mốc",
           h.annotations->>'summary' AS "Tóm tắt",
           h.labels->>'unit' AS {common.UNIT_FIELD}, h.labels->>'indicator' AS {common.INDICATOR_FIELD}
    FROM alert_history h LEFT JOIN indicators i ON i.code = h.labels->>'indicator'
    WHERE $__timeFilter(h.at) AND {HISTORY_FILTER}
    ORDER BY h.at DESC, h.id DESC
    LIMIT 500
"""
TRANSITIONS_SQL = f"""
    SELECT date_trunc('hour', h.at) AS "time", h.to_state AS metric, count(*) AS value
    FROM alert_history h
    WHERE $__timeFilter(h.at) AND {HISTORY_FILTER}
    GROUP BY 1, 2
    ORDER BY 1, 2
"""
FIRING_BY_ALERT_SQL = f"""
    SELECT count(*) FILTER (WHERE alertname = 'DxTargetMissed') AS "DxTargetMissed",
           count(*) FILTER (WHERE alertname = 'DxTargetBehind') AS "DxTargetBehind",
           count(*) FILTER (WHERE alertname = 'DxTargetAtRisk') AS "DxTargetAtRisk",
           count(*) FILTER (WHERE alertname = 'DxIndicatorStale') AS "DxIndicatorStale"
    FROM alerts a WHERE a.state = 'firing' AND {FIRING_FILTER}
"""
UNIT_FILTER_SQL = f"""
    SELECT __value, __text FROM (
        SELECT '{ALL}' AS __value, 'Tất cả (all)' AS __text, 0 AS o
        UNION ALL
        SELECT __value, __text, 1 FROM ({units.UNIT_VARIABLE_SQL}) u
    ) x
"""
INDICATOR_FILTER_SQL = f"""
    SELECT __value, __text FROM (
        SELECT '{ALL}' AS __value, 'Tất cả (all)' AS __text, 0 AS o, '' AS p
        UNION ALL
        SELECT code, label_vi, 1, pillar || code FROM indicators
    ) x
    ORDER BY o, p
"""


def annotations() -> list[Json]:
    return links.shared_annotations(HISTORY_FILTER)


def _variables(board: dash.Dashboard) -> dash.Dashboard:
    everything = VariableOption(text="Tất cả (all)", value=ALL, selected=True)
    for name, label, sql in (
        ("unit", "Địa bàn (unit)", UNIT_FILTER_SQL),
        ("indicator", "Chỉ tiêu (indicator)", INDICATOR_FILTER_SQL),
    ):
        board = board.with_variable(common.sql_variable(name, label, sql, everything))
    for name, label, values in (
        (
            "severity",
            "Mức độ (severity)",
            f"Tất cả (all) : {ALL},Nghiêm trọng (critical) : critical,Cảnh báo (warning) : warning",
        ),
        ("milestone", "Mốc (milestone)", f"Tất cả (all) : {ALL},2025 : 2025,2030 : 2030"),
    ):
        board = board.with_variable(dash.CustomVariable(name).label(label).values(values).current(everything))
    return board


def _stat(title: str, query: Builder[Dataquery], span: int) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .with_target(query)
        .height(5)
        .span(span)
        .decimals(0)
        .color_mode(BigValueColorMode.BACKGROUND)
        .thresholds(common.thresholds((None, "green"), (1, "orange")))
    )


def _table(title: str, sql: str, height: int, description: str) -> table.Panel:
    to_unit = links.link_override(links.to_unit("Mở địa bàn và chỉ tiêu của cảnh báo (open the alert's unit)"))
    return (
        common.status_table(title, sql, height, description)
        .override_by_name("Địa bàn", to_unit)
        .override_by_name("Chỉ tiêu", to_unit)
        .override_by_name("Mức độ", [DynamicConfigValue("custom.cellOptions", {"type": "color-text"})])
        .override_by_name("Sang trạng thái", [DynamicConfigValue("custom.cellOptions", {"type": "color-background"})])
        .override_by_name("Tóm tắt", [DynamicConfigValue("custom.width", 480)])
    )


def build() -> dash.Dashboard:
    assert __doc__
    board = _variables(common.dashboard(UID, "Cảnh báo (Alerts)", __doc__.splitlines()[0], time_from="now-7d"))
    return (
        board.link(
            dash.DashboardLink("Alertmanager: nhóm cảnh báo, tắt cảnh báo (Grafana Alerting)")
            .type(DashboardLinkType.LINK)
            .url(ALERT_GROUPS_URL)
            .icon("bell")
            .target_blank(False)
        )
        .with_row(dash.Row("Đang cảnh báo · Firing now"))
        .with_panel(_stat("Cảnh báo chỉ tiêu đang kích hoạt", promql(f"sum({names.M_ALERTS_FIRING})"), 6))
        .with_panel(
            _stat(
                "Alertmanager: cảnh báo đang hoạt động",
                promql('sum(alertmanager_alerts{job="alertmanager", state="active"})'),
                6,
            )
        )
        .with_panel(
            _stat(
                "Cảnh báo vận hành (Prometheus)",
                promql('count(ALERTS{alertstate="firing", component="pipeline"}) or vector(0)'),
                6,
            )
        )
        .with_panel(
            _stat(
                "Gửi thông báo lỗi (5 phút)",
                promql('sum(increase(alertmanager_notifications_failed_total{job="alertmanager"}[5m]))'),
                6,
            )
        )
        .with_panel(
            _stat("Theo loại cảnh báo", Sql(FIRING_BY_ALERT_SQL), 24).reduce_options(common.all_rows()),
        )
        .with_panel(
            _table(
                "Cảnh báo chỉ tiêu đang kích hoạt (nghiêm trọng trước)",
                FIRING_SQL,
                12,
                "Cảnh báo do alerter gửi tới Alertmanager; nhóm và tắt cảnh báo: liên kết Alertmanager ở trên.",
            )
        )
        .with_row(dash.Row("Lịch sử · History"))
        .with_panel(
            timeseries.Panel()
            .title("Chuyển trạng thái cảnh báo theo giờ")
            .with_target(Sql(TRANSITIONS_SQL).time_series())
            .height(8)
            .span(24)
            .decimals(0)
            .draw_style(GraphDrawStyle.BARS)
            .fill_opacity(80)
            .stacking(common.stacked(StackingMode.NORMAL))
        )
        .with_panel(
            _table(
                "Lịch sử cảnh báo (mới nhất trước)",
                HISTORY_SQL,
                14,
                "Mọi lần chuyển trạng thái (pending → firing → resolved) trong khoảng thời gian đã chọn.",
            )
        )
    )
