"""Targets across hierarchy versions (docs/lineage.md): a unit that no longer exists on a milestone's reference day
(min(today, deadline)) keeps a `not_applicable` row that says so, with its last value, instead of vanishing or
raising an alarm. Only the unit in force owns a code's row: a vanished unit whose code was reused is represented by
the unit that carries the code now (its history reaches it through the lineage, or it does not)."""

from datetime import date, timedelta

from shared.domain.catalog import LEVEL_DEPTH, Indicator, Measure, Target
from shared.domain.hierarchy import Hierarchy, Unit
from shared.domain.status import LEVEL_VI, Assessment, Status, fmt, fmt_day
from shared.domain.trajectory import History
from shared.names import PROVINCE_CODE


def gone_units(indicator: Indicator, target: Target, hierarchy: Hierarchy, today: date) -> list[Unit]:
    """The units a ratio target was evaluated for before its reference day that no longer exist on it, each as of
    the last version that held it."""
    if indicator.measure is not Measure.RATIO:
        return []
    ref = min(today, target.deadline)
    in_force = {u.code for u in hierarchy.units_in_force(ref)}
    depth = LEVEL_DEPTH[indicator.reported_at]
    last: dict[str, Unit] = {}
    for version in hierarchy.versions:
        if version.valid_from > ref:
            break
        for unit in version.units.values():
            if unit.code not in in_force and unit.code != PROVINCE_CODE and LEVEL_DEPTH[unit.level] <= depth:
                last[unit.code] = unit
    return [last[code] for code in sorted(last)]


def gone_unit(code: str, day: date, hierarchy: Hierarchy) -> Unit | None:
    """The unit `code` last named, if no unit carries that code on `day`."""
    if hierarchy.resolve(code, day) is not None:
        return None
    held = [v.units[code] for v in hierarchy.versions if code in v.units and v.valid_from <= day]
    return held[-1] if held else None


def history_start(code: str, day: date, hierarchy: Hierarchy) -> date | None:
    """The first day of the series a code's daily values form for the unit it names on `day`: back through the
    versions while each earlier unit of that code carried its history to the next one; None if no unit is named.
    Earlier days of the code belong to another unit (a reused code) and are not this unit's history."""
    node = hierarchy.node_at(code, day)
    if node is None:
        return None
    start = node[1]
    for version in reversed([v for v in hierarchy.versions if v.valid_from < start]):
        if hierarchy.heir_of((code, version.valid_from)) != (code, start):
            break
        start = version.valid_from
    return start


def gone_assessment(indicator: Indicator, target: Target, unit: Unit, history: History) -> Assessment:
    """`not_applicable` for a unit that ceased to exist before the reference day, with its last value."""
    assert unit.valid_to is not None
    level = LEVEL_VI[unit.level]
    ended = fmt_day(unit.valid_to)
    reason = (
        f"{unit.full_name} (cấp {level}) không còn tồn tại từ {ended} sau sắp xếp đơn vị hành chính, trước hạn "
        f"{fmt_day(target.deadline)}: mục tiêu không áp dụng"
    )
    point = history.last_on_or_before(unit.valid_to - timedelta(days=1))
    if point is None:
        return Assessment(Status.NOT_APPLICABLE, f"{reason}; không có số liệu")
    value = point.value
    last = f"giá trị cuối {fmt(value, indicator.display_unit)} ({fmt_day(point.day)})"
    return Assessment(Status.NOT_APPLICABLE, f"{reason}; {last}", value=value)
