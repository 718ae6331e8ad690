"""*Bảng điểm theo xã*: communes × indicators for one milestone, each cell the target's status colour and value,
worst communes first; a former-district filter for looking at the pre-reform districts' areas."""

import re

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.models.dashboard import (
    DashboardRegexMapOptions,
    DynamicConfigValue,
    RegexMap,
    ValueMapping,
    ValueMappingResult,
    VariableOption,
)

from services.dashboards import common, links
from services.dashboards.common import Json
from services.dashboards.queries import Sql
from services.dashboards.units import in_force
from shared.domain.catalog import Indicator, load_catalog

UID = "dx-scorecard"
ALL = "__all"  # the "every district" choice of the district variable
UNIT_COLUMN = "Xã, phường (commune)"
BEHIND_COLUMN = "Chỉ tiêu chậm (behind)"
CARRIED_COLUMN = "Giá trị mang sang (carried)"
SEPARATOR = " · "  # a cell: "<value> · <status label>"

# Districts of any version (the pre-reform ones: none is in force since 2025-07-01), by name, after "all".
DISTRICT_VARIABLE_SQL = f"""
    SELECT __value, __text FROM (
        SELECT '{ALL}' AS __value, 'Tất cả (all)' AS __text, 0 AS o, '' AS n
        UNION ALL
        SELECT DISTINCT code, full_name || ' · huyện cũ (former district, ' || code || ')', 1, name
        FROM units WHERE level = 'district'
    ) d
    ORDER BY o, n, __value
"""


def indicators() -> list[Indicator]:
    """The scorecard's columns: the indicators reported by communes, in catalog order."""
    return [ind for ind in load_catalog().indicators if ind.reported_at == "commune"]


def column(ind: Indicator) -> str:
    """The result column of an indicator: its code (PostgreSQL cuts names at 63 bytes); the table shows the label."""
    return ind.code


def heading(ind: Indicator) -> str:
    return f"{ind.label_vi} ({ind.display_unit})"


def scorecard_sql() -> str:
    """One row per commune in force: a cell per indicator, worst first (worst status, then how many targets are
    missed / at risk / behind, then name). A commune matches a district when its code belonged to that district in
    an earlier version (every post-reform code is one of its predecessors' codes, docs/lineage.md)."""
    rank = common.status_rank_sql("t.status")
    label = common.status_label_sql("s.status")
    cells = ",\n           ".join(
        f"max(CASE WHEN s.indicator = '{ind.code}' "
        f"THEN coalesce(round(s.value, 1)::text, '—') || '{SEPARATOR}' || {label} END) AS \"{column(ind)}\""
        for ind in indicators()
    )
    codes = ", ".join(f"'{ind.code}'" for ind in indicators())
    return f"""
    WITH s AS (
        SELECT t.unit, t.indicator, t.status, t.value, {rank} AS rank
        FROM target_status t
        WHERE t.milestone = '$milestone' AND t.indicator IN ({codes})
    ),
    u AS (
        SELECT c.code, c.full_name, c.name FROM units c
        WHERE c.level = 'commune' AND {in_force("c")}
          AND ('$district' = '{ALL}'
               OR EXISTS (SELECT 1 FROM units d WHERE d.code = c.code AND d.parent_code = '$district'))
    )
    SELECT u.full_name AS "{UNIT_COLUMN}", u.code AS "Mã",
           count(*) FILTER (WHERE s.status IN ('missed', 'at_risk', 'behind')) AS "{BEHIND_COLUMN}",
           (SELECT count(*) FROM current_values v
            WHERE v.unit = u.code AND v.indicator IN ({codes}) AND v.carried_from > 0) AS "{CARRIED_COLUMN}",
           {cells},
           u.code AS {common.UNIT_FIELD}
    FROM u JOIN s ON s.unit = u.code
    GROUP BY u.code, u.full_name, u.name
    ORDER BY min(s.rank), count(*) FILTER (WHERE s.rank <= 2) DESC, u.name, u.code
"""


def cell_mappings() -> list[ValueMapping]:
    """A cell "<value> · <status label>" keeps its text and takes the status colour (regex mappings that set only
    the colour, so the value is shown as it is)."""
    labels = [(label, colour) for _, label, colour in common.STATUSES]
    if any(re.search(r"[\\^$.|?*+()\[\]{}]", label) for label, _ in labels):
        raise ValueError("a status label holds a regular-expression character; escape it for the cell mappings")
    return [
        RegexMap(
            options=DashboardRegexMapOptions(
                pattern=f"{SEPARATOR}{label}$", result=ValueMappingResult(color=colour, index=i)
            )
        )
        for i, (label, colour) in enumerate(labels)
    ]


def _variables(board: dash.Dashboard) -> dash.Dashboard:
    milestone = (
        dash.CustomVariable("milestone")
        .label("Mốc (milestone)")
        .values("2030,2025")
        .current(VariableOption(text="2030", value="2030", selected=True))
    )
    district = common.sql_variable(
        "district",
        "Huyện cũ (former district, trước 01/07/2025)",
        DISTRICT_VARIABLE_SQL,
        VariableOption(text="Tất cả (all)", value=ALL, selected=True),
    )
    return board.with_variable(milestone).with_variable(district)


def _scorecard() -> table.Panel:
    panel = (
        table.Panel()
        .title("Bảng điểm xã × chỉ tiêu, mốc $milestone (xấu nhất trước · worst first)")
        .description(
            "Mỗi ô: giá trị hiện tại trên màu trạng thái của mục tiêu (đỏ đậm: không đạt, cam: có nguy cơ, đỏ: chậm "
            "lộ trình, tím: thiếu số liệu, xanh: đúng/đạt). Giá trị mang sang: số chỉ tiêu mà giá trị của xã còn lấy "
            "từ các đơn vị trước khi sắp xếp. Bấm tên xã hoặc một ô để mở quỹ đạo của xã đó."
        )
        .with_target(Sql(scorecard_sql()))
        .height(24)
        .span(24)
        .mappings(cell_mappings())
        .override_by_name(common.UNIT_FIELD, [DynamicConfigValue("custom.hidden", True)])
        .override_by_name(
            UNIT_COLUMN,
            [*links.link_override(links.to_unit(indicator=None)), DynamicConfigValue("custom.width", 240)],
        )
    )
    for ind in indicators():
        link = links.to_unit(f"Quỹ đạo {ind.label_vi} (trajectory)", indicator=ind.code)
        panel = panel.override_by_name(
            column(ind),
            [
                DynamicConfigValue("displayName", heading(ind)),
                DynamicConfigValue("custom.cellOptions", {"type": "color-background"}),
                DynamicConfigValue("links", [link]),
            ],
        )
    return panel


def annotations() -> list[Json]:
    return []


def build() -> dash.Dashboard:
    board = common.dashboard(
        UID,
        "Bảng điểm theo xã (Commune scorecard)",
        __doc__.splitlines()[0] if __doc__ else "",
        time_from="now-1y",
    )
    return (
        _variables(board).with_row(dash.Row("Xã nào đang chậm? · Which communes are behind?")).with_panel(_scorecard())
    )
