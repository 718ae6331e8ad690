"""*Theo địa bàn*: one unit (province, district or commune) at a time: trajectories, targets, coverage, staleness."""

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import table, timeseries
from grafana_foundation_sdk.models.common import (
    GraphDrawStyle,
    GraphThresholdsStyleMode,
    LineInterpolation,
    VisibilityMode,
)
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    DynamicConfigValue,
    VariableOption,
)

from services.dashboards import common, corrections, links
from services.dashboards.common import Json
from services.dashboards.queries import Sql
from shared import names
from shared.domain.catalog import load_catalog

UID = links.UNITS_UID
TZ = names.TIMEZONE
PROVINCE_TEXT = "Tỉnh Thanh Hóa · tỉnh · từ 01/01/2020 (38)"


def in_force(alias: str = "") -> str:
    """SQL condition: the unit version is valid today."""
    p = f"{alias}." if alias else ""
    return f"{p}valid_from <= current_date AND ({p}valid_to IS NULL OR {p}valid_to > current_date)"


LEVEL_VI = "CASE level WHEN 'province' THEN 'tỉnh' WHEN 'district' THEN 'huyện' ELSE 'xã' END"
# Every unit, in force or not, by name with its level and validity: the ones in force first (province, districts,
# communes), then the former ones. A code whose name did not change across versions is listed once.
UNIT_VARIABLE_SQL = f"""
    SELECT code AS __value,
           full_name || ' · ' || {LEVEL_VI} || ' · '
             || CASE WHEN valid_to IS NULL THEN 'từ ' || to_char(valid_from, 'DD/MM/YYYY')
                     ELSE to_char(valid_from, 'DD/MM/YYYY') || '–' || to_char(valid_to - 1, 'DD/MM/YYYY') END
             || ' (' || code || ')' AS __text
    FROM (
        SELECT code, level, full_name, name, min(valid_from) AS valid_from,
               CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS valid_to
        FROM units GROUP BY code, level, full_name, name
    ) u
    ORDER BY valid_to IS NOT NULL, CASE level WHEN 'province' THEN 0 WHEN 'district' THEN 1 ELSE 2 END,
             name, code, valid_from DESC
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
# Daily values (end of each local day on which the value changed) and, for yearly statistics (DTI rank, digital
# economy share, …), the figure of each reference year at the year's end: two series of one query.
ACTUAL_SQL = f"""
    SELECT "time", daily AS "Thực tế", yearly AS "Số liệu theo năm" FROM (
        SELECT {_local("day")} AS "time", value AS daily, NULL::numeric AS yearly
        FROM daily_values WHERE {_WHERE} AND value IS NOT NULL AND $__timeFilter(day)
        UNION ALL
        SELECT {_local("make_date(left(period, 4)::int, 12, 31)")}, NULL, value
        FROM period_values WHERE {_WHERE} AND period ~ '^[0-9]{{4}}$' AND value IS NOT NULL
    ) v
    ORDER BY 1
"""


def _catalog_baselines() -> str:
    """The catalog's baselines as SQL rows (indicator, day, value); none → an empty typed relation."""
    rows = [
        f"('{ind.code}', DATE '{ind.baseline_date.isoformat()}', {ind.baseline_value})"
        for ind in load_catalog().indicators
        if ind.baseline_date is not None and ind.baseline_value is not None
    ]
    if not rows:
        return "SELECT NULL::text AS indicator, NULL::date AS day, NULL::numeric AS value WHERE false"
    return "SELECT * FROM (VALUES " + ", ".join(rows) + ") b (indicator, day, value)"


# The plan's path as the alerter draws it (shared/domain/status.py `_plan`): the catalog's baseline, else the first
# observation when it precedes the first milestone → each milestone's target (period means have no path).
PLANNED_SQL = f"""
    WITH catalog_base AS ({_catalog_baselines()}),
    ms AS (
        SELECT make_date(s.milestone::int, 12, 31) AS day, s.target AS value
        FROM target_status s JOIN targets t ON t.indicator = s.indicator AND t.milestone = s.milestone
        WHERE s.indicator = '$indicator' AND s.unit = '$unit' AND s.target IS NOT NULL AND t.kind <> 'period_mean'
    ),
    first_obs AS (
        SELECT day, value FROM daily_values WHERE {_WHERE} AND value IS NOT NULL ORDER BY day LIMIT 1
    ),
    base AS (
        SELECT day, value FROM catalog_base WHERE indicator = '$indicator'
        UNION ALL
        SELECT day, value FROM first_obs
        WHERE NOT EXISTS (SELECT 1 FROM catalog_base WHERE indicator = '$indicator')
          AND first_obs.day < (SELECT min(day) FROM ms)
    )
    SELECT {_local("day")} AS "time", value AS "Kế hoạch" FROM base
    UNION ALL
    SELECT {_local("day")}, value FROM ms WHERE day > coalesce((SELECT max(day) FROM base), '-infinity'::date)
    ORDER BY 1
"""
# Projection: from the latest value to the projected value at each milestone still ahead.
PROJECTION_SQL = f"""
    (SELECT {_local("day")} AS "time", value AS "Dự báo"
     FROM daily_values WHERE {_WHERE} AND value IS NOT NULL ORDER BY day DESC LIMIT 1)
    UNION ALL
    SELECT {_deadline("milestone")}, projected
    FROM target_status
    WHERE {_WHERE} AND projected IS NOT NULL AND make_date(milestone::int, 12, 31) >= current_date
    ORDER BY 1
"""
# The chart's unit and its threshold line (the 2030 target of the unit) from the catalog, not fixed numbers:
# Grafana's "Config from query results" reads this row (refId D) and applies it to the other series.
CHART_CONFIG_SQL = """
    SELECT 'suffix: ' || i.display_unit AS unit,
           (SELECT s.target FROM target_status s
            WHERE s.indicator = i.code AND s.unit = '$unit' AND s.milestone = '2030') AS "Mục tiêu 2030"
    FROM indicators i WHERE i.code = '$indicator'
"""
CARRIED = """CASE WHEN c.carried_from > 0 THEN 'mang từ ' || c.carried_from || ' đơn vị trước' ELSE '' END"""
TARGETS_SQL = f"""
    SELECT i.label_vi AS "Chỉ tiêu", s.milestone AS "Mốc", s.value AS "Giá trị", s.expected AS "Kỳ vọng",
           s.target AS "Mục tiêu", s.projected AS "Dự báo", i.display_unit AS "Đơn vị",
           s.status AS "Trạng thái", s.reason AS "Lý do",
           {CARRIED} AS "Giá trị mang sang (carried)",
           s.evaluated_at AS "Đánh giá lúc", s.indicator AS indicator_code, s.unit AS unit_code
    FROM target_status s JOIN indicators i ON i.code = s.indicator
    LEFT JOIN current_values c ON c.indicator = s.indicator AND c.unit = s.unit
    WHERE s.unit = '$unit'
    ORDER BY {common.status_rank_sql("s.status")}, i.pillar, s.indicator, s.milestone
"""
COVERAGE_SQL = """
    SELECT i.label_vi AS "Chỉ tiêu", c.value AS "Giá trị", i.display_unit AS "Đơn vị",
           c.reporting_children AS "Đơn vị con báo cáo",
           c.reporting_children - coalesce(c.reporting_carried, 0) AS "Tự báo cáo (own)",
           c.reporting_carried AS "Mang sang (carried)",
           c.children_in_force AS "Đơn vị con hiện hành",
           100 * c.coverage AS "Độ phủ (%)", c.carried_from AS "Mang từ số đơn vị trước (carried from)",
           c.last_observed_at AS "Quan sát gần nhất",
           round((extract(epoch FROM now() - c.last_observed_at) / 86400)::numeric, 1) AS "Số ngày chưa cập nhật",
           CASE WHEN t.stale THEN 'Quá hạn báo cáo' WHEN t.stale IS NULL THEN '—' ELSE 'Đúng hạn' END AS "Độ mới",
           c.indicator AS indicator_code, c.unit AS unit_code
    FROM current_values c JOIN indicators i ON i.code = c.indicator
    LEFT JOIN LATERAL (
        SELECT bool_or(stale) AS stale FROM target_status s WHERE s.indicator = c.indicator AND s.unit = c.unit
    ) t ON true
    WHERE c.unit = '$unit'
    ORDER BY t.stale DESC NULLS LAST, c.last_observed_at, i.pillar, i.code
"""
CHILDREN_SQL = f"""
    SELECT u.full_name AS "Đơn vị", u.code AS "Mã", c.value AS "Giá trị", 100 * c.coverage AS "Độ phủ (%)",
           {CARRIED} AS "Giá trị mang sang (carried)",
           c.last_observed_at AS "Quan sát gần nhất",
           round((extract(epoch FROM now() - c.last_observed_at) / 86400)::numeric, 1) AS "Số ngày chưa cập nhật",
           u.code AS unit_code, c.indicator AS indicator_code
    FROM units u JOIN current_values c ON c.unit = u.code AND c.indicator = '$indicator'
    WHERE u.parent_code = '$unit' AND {in_force("u")}
    ORDER BY c.value NULLS FIRST, u.name
"""


def annotations() -> list[Json]:
    return links.shared_annotations("h.labels->>'unit' = '$unit'")


def _variables(builder: dash.Dashboard) -> dash.Dashboard:
    province = VariableOption(text=PROVINCE_TEXT, value=names.PROVINCE_CODE, selected=True)
    unit = common.sql_variable("unit", "Địa bàn (đơn vị hành chính)", UNIT_VARIABLE_SQL, province)
    indicator = common.sql_variable("indicator", "Chỉ tiêu", INDICATOR_VARIABLE_SQL)
    return builder.with_variable(unit).with_variable(indicator)


def _trajectory() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Quỹ đạo: thực tế · kế hoạch · dự báo (${indicator:text})")
        .description(
            "Thực tế: giá trị cuối mỗi ngày (daily_values). Kế hoạch: từ quan sát đầu tiên đến mục tiêu 2025 và 2030. "
            "Dự báo: từ giá trị gần nhất đến giá trị dự báo tại các mốc còn lại (target_status). Số liệu theo năm: "
            "chỉ tiêu thống kê theo năm (period_values). Đơn vị và vạch mục tiêu 2030 lấy từ danh mục chỉ tiêu."
        )
        .with_target(Sql(ACTUAL_SQL, "A").time_series())
        .with_target(Sql(PLANNED_SQL, "B").time_series())
        .with_target(Sql(PROJECTION_SQL, "C").time_series())
        .with_target(Sql(CHART_CONFIG_SQL, "D"))
        .with_transformation(
            DataTransformerConfig(
                id_val="configFromData",
                options={
                    "configRefId": "D",
                    "mappings": [
                        {"fieldName": "unit", "handlerKey": "unit"},
                        {"fieldName": "Mục tiêu 2030", "handlerKey": "threshold1"},
                    ],
                },
            )
        )
        .thresholds_style(common_builders.GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.DASHED))
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


def _table(
    title: str, sql: str, height: int = 10, description: str = "", linked: dict[str, Json] | None = None
) -> table.Panel:
    """A status table; `linked` maps a column to the data link its cells open."""
    panel = common.status_table(title, sql, height, description)
    for column, link in (linked or {}).items():
        panel = panel.override_by_name(column, links.link_override(link))
    return (
        panel.decimals(1)
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
        .with_panel(
            _table(
                "Trạng thái mục tiêu: ${unit:text}",
                TARGETS_SQL,
                linked={"Chỉ tiêu": links.to_unit("Xem quỹ đạo chỉ tiêu này (show this indicator)")},
            )
        )
        .with_row(dash.Row("Độ phủ và độ mới dữ liệu · Coverage and staleness"))
        .with_panel(
            _table(
                "Độ phủ và thời điểm cập nhật theo chỉ tiêu",
                COVERAGE_SQL,
                description="Độ phủ: số đơn vị con đã báo cáo (tự báo cáo hoặc mang sang từ đơn vị trước) / số đơn vị "
                "con hiện hành (trống với cấp xã).",
                linked={"Chỉ tiêu": links.to_unit("Xem quỹ đạo chỉ tiêu này (show this indicator)")},
            )
        )
        .with_panel(
            _table(
                "Đơn vị cấp dưới: ${indicator:text}",
                CHILDREN_SQL,
                height=12,
                description="Các đơn vị con hiện hành của địa bàn đã chọn, giá trị thấp và cũ nhất trước.",
                linked={"Đơn vị": links.to_unit("Mở đơn vị con (open the sub-unit)")},
            )
        )
        .with_panel(corrections.recent_corrections())
    )
