"""*Tổng quan chuyển đổi số*: the province's targets by pillar, value against expected and target, worst first."""

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.models.common import BigValueColorMode
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from services.dashboards import common, links
from services.dashboards.common import Json
from services.dashboards.queries import Sql
from shared import names

UID = "dx-overview"
PROVINCE = names.PROVINCE_CODE

# One row per (indicator, milestone) of the province; every column named in Vietnamese.
_TARGETS_SQL = f"""
    SELECT i.pillar_vi AS "Trụ cột", i.label_vi AS "Chỉ tiêu", s.milestone AS "Mốc",
           s.value AS "Giá trị", s.expected AS "Kỳ vọng", s.target AS "Mục tiêu", s.projected AS "Dự báo",
           i.display_unit AS "Đơn vị", s.status AS "Trạng thái", s.reason AS "Lý do",
           c.reporting_children AS "Đơn vị báo cáo", c.reporting_carried AS "Trong đó mang sang (carried)",
           s.indicator AS {common.INDICATOR_FIELD}, s.unit AS {common.UNIT_FIELD}
    FROM target_status s JOIN indicators i ON i.code = s.indicator
    LEFT JOIN current_values c ON c.indicator = s.indicator AND c.unit = s.unit
    WHERE s.unit = '{PROVINCE}' AND s.milestone = '{{milestone}}'
    ORDER BY {common.status_rank_sql("s.status")}, i.pillar, s.indicator
"""
# Value against the plan today and the 2030 target, coloured by the target's own status (not fixed thresholds).
_PROGRESS_SQL = f"""
    SELECT i.label_vi AS "Chỉ tiêu", c.value AS "Giá trị", s.expected AS "Kỳ vọng hôm nay",
           s.target AS "Mục tiêu 2030", s.status AS "Trạng thái",
           s.indicator AS {common.INDICATOR_FIELD}, s.unit AS {common.UNIT_FIELD}
    FROM target_status s JOIN indicators i ON i.code = s.indicator
    JOIN current_values c ON c.indicator = s.indicator AND c.unit = s.unit
    WHERE s.unit = '{PROVINCE}' AND s.milestone = '2030' AND i.display_unit = '%'
    ORDER BY {common.status_rank_sql("s.status")}, i.pillar, i.code
"""
# The province's daily values over the dashboard's time range (PostgreSQL history, not a Prometheus window).
_TREND_SQL = f"""
    SELECT (d.day)::timestamp AT TIME ZONE '{names.TIMEZONE}' AS "time", i.label_vi AS metric, d.value
    FROM daily_values d JOIN indicators i ON i.code = d.indicator
    WHERE d.unit = '{PROVINCE}' AND i.display_unit = '%' AND d.value IS NOT NULL AND $__timeFilter(d.day)
    ORDER BY 1, 2
"""


def annotations() -> list[Json]:
    return links.shared_annotations(f"h.labels->>'unit' = '{PROVINCE}'")


def _targets_table(title: str, milestone: str, description: str) -> table.Panel:
    return (
        common.status_table(title, _TARGETS_SQL.replace("{milestone}", milestone), 12, description)
        .decimals(1)
        .override_by_name("Chỉ tiêu", links.link_override(links.to_unit("Quỹ đạo cấp tỉnh (province trajectory)")))
        .override_by_name("Trạng thái", [DynamicConfigValue("custom.cellOptions", {"type": "color-background"})])
        .override_by_name("Chỉ tiêu", [DynamicConfigValue("custom.width", 420)])
    )


def _status_counts() -> stat.Panel:
    panel = (
        stat.Panel()
        .title("Số chỉ tiêu theo trạng thái (cấp tỉnh, mốc 2030)")
        .with_target(
            Sql(
                f"""
                SELECT {common.status_count_columns("status")}
                FROM target_status WHERE unit = '{PROVINCE}' AND milestone = '2030'
                """
            )
        )
        .height(5)
        .span(24)
        .decimals(0)
        .color_mode(BigValueColorMode.BACKGROUND)
        .reduce_options(common.all_rows())
    )
    for name, properties in common.status_colour_overrides():
        panel = panel.override_by_name(name, properties)
    return panel


def _value_vs_target() -> table.Panel:
    return (
        common.status_table(
            "Giá trị hiện tại so với kỳ vọng và mục tiêu 2030 (chỉ tiêu %, cấp tỉnh)",
            _PROGRESS_SQL,
            10,
            "Thanh: giá trị hiện tại (0–100 %); màu trạng thái: đánh giá của mục tiêu 2030 so với lộ trình.",
        )
        .span(12)
        .decimals(1)
        .override_by_name(
            "Giá trị",
            [
                DynamicConfigValue("custom.cellOptions", {"type": "gauge", "mode": "basic"}),
                DynamicConfigValue("unit", "percent"),
                DynamicConfigValue("min", 0),
                DynamicConfigValue("max", 100),
                DynamicConfigValue("color", {"mode": "fixed", "fixedColor": "blue"}),
            ],
        )
        .override_by_name("Trạng thái", [DynamicConfigValue("custom.cellOptions", {"type": "color-background"})])
        .override_by_name("Chỉ tiêu", links.link_override(links.to_unit("Quỹ đạo cấp tỉnh (province trajectory)")))
    )


def _values_over_time() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Giá trị chỉ tiêu % cấp tỉnh theo ngày (lịch sử PostgreSQL)")
        .with_target(Sql(_TREND_SQL).time_series())
        .height(10)
        .span(12)
        .unit("percent")
        .decimals(1)
    )


def build() -> dash.Dashboard:
    return (
        common.dashboard(
            UID, "Tổng quan chuyển đổi số (Digital transformation overview)", __doc__ or "", time_from="now-2y"
        )
        .with_row(dash.Row("Tình hình chung · Overview"))
        .with_panel(_status_counts())
        .with_panel(_value_vs_target())
        .with_panel(_values_over_time())
        .with_row(dash.Row("Triển vọng 2030 · 2030 outlook (xấu nhất trước · worst first)"))
        .with_panel(
            _targets_table(
                "Mục tiêu 2030 theo trụ cột: giá trị, kỳ vọng, dự báo, mục tiêu",
                "2030",
                "Kỳ vọng: giá trị theo lộ trình kế hoạch hôm nay; Dự báo: xu hướng gần đây kéo đến 31/12/2030.",
            )
        )
        .with_row(dash.Row("Kết quả 2025 · 2025 results"))
        .with_panel(
            _targets_table(
                "Kết quả mục tiêu 2025 (giá trị cuối cùng đến 31/12/2025)",
                "2025",
                "Đánh giá theo giá trị cuối cùng tại hoặc trước hạn; không áp dụng khi cấp đơn vị không còn tồn tại.",
            )
        )
    )
