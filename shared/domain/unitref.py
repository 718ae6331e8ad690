"""Naming a unit, not a code, in a source's scope (README.md, "Sending events"; docs/http-api.md).

Commune codes are reused under other names across versions of the hierarchy (14758 was Phường Đông Thọ until
2025-07-01 and is Phường Hàm Rồng since), so a scope entry names one unit: `CODE@YYYY-MM-DD`, the unit with
that code in force on that date, stored as `CODE@<first day of that version>`. A bare `CODE` typed by an operator
means the unit in force today; a bare code already stored (written before scopes named units) means the latest unit
that had the code, the rule migration 0015 applies. A scope unit covers, at an event's date, the same unit as in
force then: itself, or the unit it continues or is continued by with the same code and the same full name (a
renamed or recoded unit is a different one: its history needs its own entry).
"""

import re
from datetime import date

from shared.domain.hierarchy import Hierarchy
from shared.domain.lineage import Node

SCOPES_REMEMBERED = 1024  # (scope, version) pairs kept resolved
UNIT_REF = re.compile(r"^([0-9]{2,6})(?:@([0-9]{4}-[0-9]{2}-[0-9]{2}))?$")


class UnitRefError(ValueError):
    """A scope entry that names no unit: the message says which and how to name one."""


def canonical(node: Node) -> str:
    return f"{node[0]}@{node[1].isoformat()}"


def parse_ref(text: str, hierarchy: Hierarchy, today: date) -> Node:
    """The unit an operator names: `CODE` (in force today) or `CODE@YYYY-MM-DD` (in force on that date)."""
    match = UNIT_REF.fullmatch(text.strip())
    if match is None:
        raise UnitRefError(f"bad unit {text!r}: expected CODE or CODE@YYYY-MM-DD")
    code, when = match.group(1), match.group(2)
    try:
        day = date.fromisoformat(when) if when else today
    except ValueError:
        raise UnitRefError(f"bad unit {text!r}: {when} is not a date") from None
    node = hierarchy.node_at(code, day)
    if node is not None:
        return node
    if not hierarchy.known_anywhere(code):
        raise UnitRefError(f"unknown unit {code}")
    units = [(n, hierarchy.version_of(n).units[code].full_name) for n in nodes_of(code, hierarchy)]
    named = "; ".join(f"{canonical(n)} ({name})" for n, name in units)
    raise UnitRefError(f"unit {code} is not in force on {day.isoformat()}: name one of {named}")


def nodes_of(code: str, hierarchy: Hierarchy) -> list[Node]:
    """Every unit that had `code`, oldest first."""
    return [(code, v.valid_from) for v in hierarchy.versions if code in v.units]


def stored_node(text: str, hierarchy: Hierarchy) -> Node | None:
    """The unit a stored scope entry names (None: it names none, so it allows nothing)."""
    match = UNIT_REF.fullmatch(text)
    if match is None:
        return None
    code, when = match.group(1), match.group(2)
    if when is None:
        found = nodes_of(code, hierarchy)
        return found[-1] if found else None
    try:
        return hierarchy.node_at(code, date.fromisoformat(when))
    except ValueError:
        return None


def same_unit_at(node: Node, day: date, hierarchy: Hierarchy) -> Node | None:
    """The unit in force on `day` that is `node` (same code and full name, one version continuing the other)."""
    code = node[0]
    name = hierarchy.version_of(node).units[code].full_name
    at: Node | None = node
    while at is not None and not hierarchy.version_of(at).covers(day):
        later = day >= hierarchy.version_of(at).valid_from
        step = hierarchy.heir_of(at) if later else next((p for p in hierarchy.carried_to(at) if p[0] == code), None)
        if step is None or step[0] != code or hierarchy.version_of(step).units[code].full_name != name:
            return None
        at = step
    return at


def scope_codes(entries: frozenset[str], day: date, hierarchy: Hierarchy) -> frozenset[str]:
    """The codes, in the version in force on `day`, of the units a scope's entries name (each entry's same unit
    then), resolved once per scope and version: checking every entry for every event cost the collector 94 % of
    its CPU on a `dx import` scoped to 558 communes (~600 rows/s)."""
    version = hierarchy.version_at(day)
    if version is None:
        return frozenset()
    key = (entries, version.valid_from)
    found = hierarchy.scope_codes.get(key)
    if found is None:
        nodes = [n for n in (stored_node(e, hierarchy) for e in entries) if n is not None]
        found = frozenset(at[0] for n in nodes if (at := same_unit_at(n, day, hierarchy)) is not None)
        if len(hierarchy.scope_codes) >= SCOPES_REMEMBERED:  # each import makes a scope of its own
            hierarchy.scope_codes.clear()
        hierarchy.scope_codes[key] = found
    return found


def in_scope(entries: frozenset[str], code: str, day: date, hierarchy: Hierarchy) -> bool:
    """True when the unit `code` names on `day` is one of the scope's units as in force then, or lies under one."""
    if hierarchy.resolve(code, day) is None:
        return False
    allowed = scope_codes(entries, day, hierarchy)
    return code in allowed or any(a.code in allowed for a in hierarchy.ancestors(code, day))
