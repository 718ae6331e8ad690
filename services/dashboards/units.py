"""*Theo địa bàn*: one unit (province, district or commune) at a time: trajectories, targets, coverage, staleness."""

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import table, timeseries
from grafana_foundation_sdk.models.common import GraphDrawStyle, LineInterpolation, VisibilityMode
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue, VariableOption, VariableRefresh, VariableSort

from services.dashboards import common, corrections, datasources
from services.dashboards.queries import Sql, sql_text
from shared import names

UID = "dx-units"
TZ = names.TIMEZONE


def in_force(alias: str = "") -> str:
    """SQL condition: the unit version is valid today."""
    p = f"{alias}." if alias else ""
    return f"{p}valid_from <= current_date AND ({p}valid_to IS NULL OR {p}valid_to > current_date)"


# Units in force today: province first, then districts, then communes, by name (with diacritics).
UNIT_VARIABLE_SQL = f"""
    SELECT code AS __value,
           CASE level WHEN 'province' THEN '' WHEN 'district' THEN '— ' ELSE '—— ' END
             || full_name || ' (' || code || ')' AS __text
    FROM units WHERE {in_force()}
    ORDER BY CASE level WHEN 'province' THEN 0 WHEN 'district' THEN 1 ELSE 2 END, name, code
"""
INDICATOR_VARIABLE_SQL = """
    SELECT i.code AS __value, i.label_vi AS __text
    FROM indicators i
    WHERE EXISTS (SELECT 1 FROM daily_values d WHERE d.indicator = i.code AND d.unit = '$unit')
    ORDER BY i.pillar, i.code
"""


def _local(day: str) -> str:
    """A date as the start of that local day (Grafana's time column)."""
    return f"({day})::timestamp AT TIME ZONE '{TZ}'"


def _deadline(milestone: str) -> str:
    return _local(f"make_date(({milestone})::int, 12, 31)")


_WHERE = "indicator = '$indicator' AND unit = '$unit'"
ACTUAL_SQL = f"""
    SELECT {_local("day")} AS "time", value AS "Thực tế"
    FROM daily_values WHERE {_WHERE} AND $__timeFilter(day)
    ORDER BY 1
"""
# Planned trajectory: the first observation (the default baseline) → each later milestone's target.
PLANNED_SQL = f"""
    WITH base AS (SELECT day, value FROM daily_values WHERE {_WHERE} ORDER BY day LIMIT 1)
    SELECT {_local("day")} AS "time", value AS "Kế hoạch" FROM base
    UNION ALL
    SELECT {_deadline("milestone")}, target
    FROM target_status
    WHERE {_WHERE} AND target IS NOT NULL
      AND make_date(milestone::int, 12, 31) > coalesce((SELECT day FROM base), '-infinity'::date)
    ORDER BY 1
"""
# Projection: from the latest value to the projected value at each milestone still ahead.
PROJECTION_SQL = f"""
    (SELECT {_local("day")} AS "time", value AS "Dự báo"
     FROM daily_values WHERE {_WHERE} ORDER BY day DESC LIMIT 1)
    UNION ALL
    SELECT {_deadline("milestone")}, projected
    FROM target_status
    WHERE {_WHERE} AND projected IS NOT NULL AND make_date(milestone::int, 12, 31) >= current_date
    ORDER BY 1
"""
TARGETS_SQL = f"""
    SELECT i.label_vi AS "Chỉ tiêu", s.milestone AS "Mốc", s.value AS "Giá trị", s.expected AS "Kỳ vọng",
           s.target AS "Mục tiêu", s.projected AS "Dự báo", i.display_unit AS "Đơn vị",
           s.status AS "Trạng thái", s.reason AS "Lý do", s.evaluated_at AS "Đánh giá lúc"
    FROM target_status s JOIN indicators i ON i.code = s.indicator
    WHERE s.unit = '$unit'
    ORDER BY {common.status_rank_sql("s.status")}, i.pillar, s.indicator, s.milestone
"""
COVERAGE_SQL = """
    SELECT i.label_vi AS "Chỉ tiêu", c.value AS "Giá trị", i.display_unit AS "Đơn vị",
           c.reporting_children AS "Đơn vị con báo cáo", c.children_in_force AS "Đơn vị con hiện hành",
           100 * c.coverage AS "Độ phủ (%)", c.last_observed_at AS "Quan sát gần nhất",
           round((extract(epoch FROM now() - c.last_observed_at) / 86400)::numeric, 1) AS "Số ngày chưa cập nhật",
           CASE WHEN t.stale THEN 'Quá hạn báo cáo' WHEN t.stale IS NULL THEN '—' ELSE 'Đúng hạn' END AS "Độ mới"
    FROM current_values c JOIN indicators i ON i.code = c.indicator
    LEFT JOIN LATERAL (
        SELECT bool_or(stale) AS stale FROM target_status s WHERE s.indicator = c.indicator AND s.unit = c.unit
    ) t ON true
    WHERE c.unit = '$unit'
    ORDER BY t.stale DESC NULLS LAST, c.last_observed_at, i.pillar, i.code
"""
CHILDREN_SQL = f"""
    SELECT u.full_name AS "Đơn vị", u.code AS "Mã", c.value AS "Giá trị", 100 * c.coverage AS "Độ phủ (%)",
           c.last_observed_at AS "Quan sát gần nhất",
           round((extract(epoch FROM now() - c.last_observed_at) / 86400)::numeric, 1) AS "Số ngày chưa cập nhật"
    FROM units u JOIN current_values c ON c.unit = u.code AND c.indicator = '$indicator'
    WHERE u.parent_code = '$unit' AND {in_force("u")}
    ORDER BY c.value NULLS FIRST, u.name
"""


def _variables(builder: dash.Dashboard) -> dash.Dashboard:
    unit = (
        dash.QueryVariable("unit")
        .label("Địa bàn (đơn vị hành chính)")
        .datasource(datasources.postgres())
        .query(sql_text(UNIT_VARIABLE_SQL))
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.DISABLED)
        .current(VariableOption(text="Tỉnh Thanh Hóa (38)", value=names.PROVINCE_CODE, selected=True))
    )
    indicator = (
        dash.QueryVariable("indicator")
        .label("Chỉ tiêu")
        .datasource(datasources.postgres())
        .query(sql_text(INDICATOR_VARIABLE_SQL))
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.DISABLED)
    )
    return builder.with_variable(unit).with_variable(indicator)


def _trajectory() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Quỹ đạo: thực tế · kế hoạch · dự báo (${indicator:text})")
        .description(
            "Thực tế: giá trị cuối mỗi ngày (daily_values). Kế hoạch: từ quan sát đầu tiên đến mục tiêu 2025 và 2030. "
            "Dự báo: từ giá trị gần nhất đến giá trị dự báo tại các mốc còn lại (target_status)."
        )
        .with_target(Sql(ACTUAL_SQL, "A").time_series())
        .with_target(Sql(PLANNED_SQL, "B").time_series())
        .with_target(Sql(PROJECTION_SQL, "C").time_series())
        .height(11)
        .span(24)
        .decimals(1)
        .draw_style(GraphDrawStyle.LINE)
        .line_interpolation(LineInterpolation.LINEAR)
        .show_points(VisibilityMode.ALWAYS)
        .span_nulls(True)
        .override_by_name("Kế hoạch", [DynamicConfigValue("custom.lineStyle", {"fill": "dash", "dash": [10, 10]})])
        .override_by_name("Dự báo", [DynamicConfigValue("custom.lineStyle", {"fill": "dot", "dash": [2, 6]})])
    )


def _table(title: str, sql: str, height: int = 10, description: str = "") -> table.Panel:
    return (
        common.status_table(title, sql, height, description)
        .decimals(1)
        .override_by_name("Trạng thái", [DynamicConfigValue("custom.cellOptions", {"type": "color-background"})])
        .override_by_name("Độ mới", [DynamicConfigValue("custom.cellOptions", {"type": "color-text"})])
        .override_by_name(
            "Số ngày chưa cập nhật",
            [
                DynamicConfigValue("custom.cellOptions", {"type": "color-text"}),
                DynamicConfigValue(
                    "thresholds", common.thresholds((None, "green"), (30, "orange"), (90, "red")).build()
                ),
            ],
        )
    )


def build() -> dash.Dashboard:
    board = common.dashboard(
        UID,
        "Theo địa bàn (By unit)",
        "Từng tỉnh, huyện, xã: quỹ đạo chỉ tiêu, trạng thái mục tiêu, độ phủ và độ mới dữ liệu.",
        time_from="now-3y",
        time_to="now+5y",
    )
    return (
        _variables(board)
        .with_row(dash.Row("Quỹ đạo · Trajectory"))
        .with_panel(_trajectory())
        .with_row(dash.Row("Mục tiêu của địa bàn · Targets (xấu nhất trước · worst first)"))
        .with_panel(_table("Trạng thái mục tiêu: ${unit:text}", TARGETS_SQL))
        .with_row(dash.Row("Độ phủ và độ mới dữ liệu · Coverage and staleness"))
        .with_panel(
            _table(
                "Độ phủ và thời điểm cập nhật theo chỉ tiêu",
                COVERAGE_SQL,
                description="Độ phủ: số đơn vị con đã báo cáo / số đơn vị con hiện hành (trống với cấp xã).",
            )
        )
        .with_panel(
            _table(
                "Đơn vị cấp dưới: ${indicator:text}",
                CHILDREN_SQL,
                height=12,
                description="Các đơn vị con hiện hành của địa bàn đã chọn, giá trị thấp và cũ nhất trước.",
            )
        )
        .with_panel(corrections.recent_corrections())
    )
