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
from grafana_foundation_sdk.models.dashboard import DashboardLinkType, DynamicConfigValue

from services.dashboards import common, datasources
from services.dashboards.queries import Sql, promql
from shared import names

UID = "dx-alerts"
ALERT_GROUPS_URL = f"/alerting/groups?alertmanager={datasources.ALERTMANAGER_NAME}"

FIRING_SQL = """
    SELECT a.alertname AS "Cảnh báo", a.labels->>'severity' AS "Mức độ", i.pillar_vi AS "Trụ cột",
           coalesce(i.label_vi, a.indicator) AS "Chỉ tiêu",
           coalesce(a.annotations->>'unit_name', a.labels->>'unit_name', a.unit) AS "Địa bàn",
           a.milestone AS "Mốc", a.annotations->>'summary' AS "Tóm tắt", a.starts_at AS "Từ lúc",
           a.last_sent_at AS "Gửi Alertmanager lúc"
    FROM alerts a LEFT JOIN indicators i ON i.code = a.indicator
    WHERE a.state = 'firing'
    ORDER BY CASE a.labels->>'severity' WHEN 'critical' THEN 0 ELSE 1 END, a.starts_at, a.alertname, a.unit
"""
HISTORY_SQL = """
    SELECT h.at AS "Thời điểm", h.alertname AS "Cảnh báo", h.from_state AS "Từ trạng thái",
           h.to_state AS "Sang trạng thái", h.labels->>'severity' AS "Mức độ",
           coalesce(i.label_vi, h.labels->>'indicator') AS "Chỉ tiêu",
           coalesce(h.annotations->>'unit_name', h.labels->>'unit_name', h.labels->>'unit') AS "Địa bàn",
           h.labels->>'milestone' AS "Mốc",
           h.annotations->>'summary' AS "Tóm tắt"
    FROM alert_history h LEFT JOIN indicators i ON i.code = h.labels->>'indicator'
    WHERE $__timeFilter(h.at)
    ORDER BY h.at DESC, h.id DESC
    LIMIT 500
"""
TRANSITIONS_SQL = """
    SELECT date_trunc('hour', at) AS "time", to_state AS metric, count(*) AS value
    FROM alert_history
    WHERE $__timeFilter(at)
    GROUP BY 1, 2
    ORDER BY 1, 2
"""
FIRING_BY_ALERT_SQL = """
    SELECT count(*) FILTER (WHERE alertname = 'DxTargetMissed') AS "DxTargetMissed",
           count(*) FILTER (WHERE alertname = 'DxTargetBehind') AS "DxTargetBehind",
           count(*) FILTER (WHERE alertname = 'DxTargetAtRisk') AS "DxTargetAtRisk",
           count(*) FILTER (WHERE alertname = 'DxIndicatorStale') AS "DxIndicatorStale"
    FROM alerts WHERE state = 'firing'
"""


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
    return (
        common.status_table(title, sql, height, description)
        .override_by_name("Mức độ", [DynamicConfigValue("custom.cellOptions", {"type": "color-text"})])
        .override_by_name("Sang trạng thái", [DynamicConfigValue("custom.cellOptions", {"type": "color-background"})])
        .override_by_name("Tóm tắt", [DynamicConfigValue("custom.width", 480)])
    )


def build() -> dash.Dashboard:
    assert __doc__
    board = common.dashboard(UID, "Cảnh báo (Alerts)", __doc__.splitlines()[0], time_from="now-7d")
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
