"""The unit dashboard's table of recent corrections and retractions (đính chính, rút lại) of the selected unit and
the units under it, with the value before and after (applied_events, shared/migrations/0012)."""

from grafana_foundation_sdk.builders import table

from services.dashboards.queries import Sql

_MEASURES = "coalesce({a}.numerator || '/' || {a}.denominator, {a}.value::text)"

RECENT_CORRECTIONS_SQL = f"""
    SELECT a.received_at AS "Nhận lúc (received)", a.source AS "Nguồn (source)", i.label_vi AS "Chỉ tiêu",
           a.unit AS "Đơn vị (unit)",
           CASE WHEN a.retracts IS NOT NULL THEN 'Rút lại (retraction)' ELSE 'Đính chính (correction)' END
             AS "Loại (kind)",
           o.observed_at AS "Quan sát gốc (original observed)", {_MEASURES.format(a="o")} AS "Trước (before)",
           CASE WHEN a.retracts IS NOT NULL THEN '—' ELSE {_MEASURES.format(a="a")} END AS "Sau (after)",
           a.event_id::text AS "event_id", o.event_id::text AS "Sự kiện gốc (original)"
    FROM applied_events a
    JOIN applied_events o ON o.source = a.source AND o.event_id = coalesce(a.corrects, a.retracts)
    JOIN indicators i ON i.code = a.indicator
    WHERE (a.corrects IS NOT NULL OR a.retracts IS NOT NULL)
      AND (a.unit = '$unit' OR a.unit IN (SELECT t.unit FROM agg_unit_tree t WHERE t.ancestor = '$unit'))
    ORDER BY a.received_at DESC
    LIMIT 50
"""


def recent_corrections() -> table.Panel:
    return (
        table.Panel()
        .title("Đính chính gần đây · Recent corrections: ${unit:text}")
        .description(
            "Các đính chính và rút lại số liệu của địa bàn và các đơn vị trực thuộc, mới nhất trước "
            "(corrections and retractions, newest first). `dx events show EVENT_ID` cho toàn bộ chuỗi đính chính."
        )
        .with_target(Sql(RECENT_CORRECTIONS_SQL))
        .height(9)
        .span(24)
    )
