"""Drill-down: data links from a row that names a unit, an indicator or an alert to the unit dashboard (*Theo địa
bàn*, `var-unit`, `var-indicator`, the time range kept), and the annotations every dashboard shares: hierarchy
changes (2025-01-01, 2025-07-01, any later arrangement), milestone deadlines, alert transitions.

A linked row carries the codes in hidden ASCII-named columns (`unit_code`, `indicator_code`), so the link reads
them with `${__data.fields.<name>}` whatever the visible Vietnamese column is called."""

from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from services.dashboards import datasources
from services.dashboards.common import INDICATOR_FIELD, UNIT_FIELD, Json
from services.dashboards.queries import sql_text
from shared import names

UNITS_UID = "dx-units"
TZ = names.TIMEZONE


def unit_url(unit: str, indicator: str | None) -> str:
    """Link to the unit dashboard; `unit` / `indicator` are data-link expressions or dashboard variables."""
    params = [f"var-unit={unit}"]
    if indicator is not None:
        params.append(f"var-indicator={indicator}")
    return f"/d/{UNITS_UID}/?{'&'.join(params)}&${{__url_time_range}}"


def field(name: str) -> str:
    return f"${{__data.fields.{name}}}"


def to_unit(title: str = "Mở địa bàn (open the unit)", indicator: str | None = field(INDICATOR_FIELD)) -> Json:
    """A data link to the row's unit (and the row's indicator, or another expression such as `$indicator`)."""
    return {"title": title, "url": unit_url(field(UNIT_FIELD), indicator), "targetBlank": False}


def link_override(*links: Json) -> list[DynamicConfigValue]:
    return [DynamicConfigValue("links", list(links))]


def _local(day: str) -> str:
    return f"(({day})::timestamp AT TIME ZONE '{TZ}')"


# $__timeFilter is given a plain column, never an expression with parentheses: the times are computed in a
# subquery first.
HIERARCHY_SQL = f"""
    SELECT at AS "time", text, tags FROM (
        SELECT {_local("d.day")} AS at,
               'Sắp xếp đơn vị hành chính (administrative reorganisation) ' || to_char(d.day, 'DD/MM/YYYY') || ': '
                 || (SELECT count(*) FROM units u WHERE u.valid_from = d.day AND u.level = 'commune')
                 || ' xã theo danh mục mới; hết hiệu lực: '
                 || (SELECT count(*) FROM units u WHERE u.valid_to = d.day AND u.level = 'commune') || ' xã, '
                 || (SELECT count(*) FROM units u WHERE u.valid_to = d.day AND u.level = 'district') || ' huyện'
                 AS text,
               'hierarchy' AS tags
        FROM (SELECT DISTINCT valid_from AS day FROM units
              WHERE valid_from > (SELECT min(valid_from) FROM units)) d
    ) a
    WHERE $__timeFilter(at)
    ORDER BY 1
"""
MILESTONES_SQL = f"""
    SELECT at AS "time", text, tags FROM (
        SELECT {_local("make_date(t.milestone::int, 12, 31)")} AS at,
               'Hạn mốc ' || t.milestone || ' (milestone deadline): ' || count(*) || ' mục tiêu' AS text,
               'milestone' AS tags
        FROM targets t GROUP BY t.milestone
    ) a
    WHERE $__timeFilter(at)
    ORDER BY 1
"""


def alert_transitions_sql(condition: str = "true") -> str:
    """Alert firing / resolved transitions from the alert history, for the rows matching `condition` (on h)."""
    return f"""
    SELECT h.at AS "time",
           h.alertname || ' ' || h.from_state || ' → ' || h.to_state || ': '
             || coalesce(h.annotations->>'summary', h.labels->>'indicator') AS text,
           h.to_state AS tags
    FROM alert_history h
    WHERE $__timeFilter(h.at) AND h.to_state IN ('firing', 'resolved') AND ({condition})
    ORDER BY h.at
    LIMIT 1000
"""


def sql_annotation(name: str, sql: str, colour: str) -> Json:
    """An annotation query on the PostgreSQL data source (columns time, text, tags), as Grafana saves it."""
    source = {"type": datasources.POSTGRES_TYPE, "uid": datasources.POSTGRES_UID}
    return {
        "datasource": source,
        "enable": True,
        "hide": False,
        "iconColor": colour,
        "name": name,
        "target": {
            "datasource": source,
            "editorMode": "code",
            "format": "table",
            "rawQuery": True,
            "rawSql": sql_text(sql),
            "refId": "Anno",
        },
    }


def shared_annotations(alert_condition: str = "true") -> list[Json]:
    """Hierarchy changes, milestone deadlines and alert transitions (filtered by `alert_condition` on h)."""
    return [
        sql_annotation("Sắp xếp đơn vị hành chính (hierarchy changes)", HIERARCHY_SQL, "purple"),
        sql_annotation("Hạn mốc (milestones)", MILESTONES_SQL, "blue"),
        sql_annotation("Cảnh báo (alert transitions)", alert_transitions_sql(alert_condition), "red"),
    ]
