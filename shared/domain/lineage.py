"""Unit lineage across hierarchy versions (docs/lineage.md): which earlier units a unit's history is made of.

A unit is a node (code, version_from): codes are reused, so a code alone names nothing. Each version after the
first lists, for each of its communes, the communes of the previous version it was formed from (a lineage file);
the lineage of districts and the province follows from their communes. Every earlier unit carries its history to
at most one later unit, its heir:

- the only successor, when it went whole into one unit (continued, renamed, merged, moved to another district);
- for a unit divided between several successors: the successor that keeps its code (the statistics office made
  that unit its continuation), else none: its history is not split by guesswork.

A unit's history is its own observations in its version plus, transitively, what its predecessors carried to it.
"""

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from shared.domain.catalog import LEVEL_DEPTH

Node = tuple[str, date]  # (code, valid_from of the version it belongs to)
LAST_DAY = date(9999, 12, 31)
LEAF_LEVEL = max(LEVEL_DEPTH, key=lambda level: LEVEL_DEPTH[level])


def _plain(name: str) -> str:
    """A name without diacritics or case (the source spells two old names differently: Vân Am / Vân Âm)."""
    decomposed = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


@dataclass(frozen=True, slots=True)
class Source:
    """A piece of a unit's history: the observations of `node` dated in [first_day, last_day], reached through
    `path` (the nodes from the unit down to, not including, `node`; empty for the unit's own observations)."""

    node: Node
    first_day: date
    last_day: date
    path: tuple[Node, ...]


def read_lineage(
    text: str, old_units: dict[str, tuple[str, str]], new_units: dict[str, tuple[str, str]], source: str
) -> dict[str, tuple[str, ...]]:
    """New commune → its predecessor communes, from a lineage CSV (old_code,old_name,new_code,new_name), validated:
    every old commune accounted for, every new commune with a predecessor, codes known and names matching.
    `old_units`/`new_units`: code → (level, full name) of the two versions."""
    predecessors: dict[str, list[str]] = {}
    seen_old: set[str] = set()
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        old, new = row["old_code"].strip(), row["new_code"].strip()
        for code, name, units, side in ((old, row["old_name"], old_units, "old"), (new, row["new_name"], new_units,
                                                                                   "new")):  # fmt: skip
            found = units.get(code)
            if found is None or found[0] != LEAF_LEVEL:
                raise ValueError(f"{source}:{line}: {side} code {code} is not a {LEAF_LEVEL} of its version")
            if _plain(name) != _plain(found[1]):
                raise ValueError(f"{source}:{line}: {side} code {code} is {found[1]!r}, not {name.strip()!r}")
        if old in predecessors.get(new, ()):
            raise ValueError(f"{source}:{line}: {old} → {new} is listed twice")
        predecessors.setdefault(new, []).append(old)
        seen_old.add(old)
    missing = sorted(c for c, (level, _) in old_units.items() if level == LEAF_LEVEL and c not in seen_old)
    if missing:
        raise ValueError(f"{source}: old communes with no successor row: {', '.join(missing[:10])}")
    orphans = sorted(c for c, (level, _) in new_units.items() if level == LEAF_LEVEL and c not in predecessors)
    if orphans:
        raise ValueError(f"{source}: new communes with no predecessor: {', '.join(orphans[:10])}")
    return {new: tuple(sorted(olds)) for new, olds in predecessors.items()}


def window(valid_from: date, valid_to: date | None) -> tuple[date, date]:
    """The days [first, last] of a version."""
    return valid_from, (valid_to - timedelta(days=1)) if valid_to is not None else LAST_DAY


def heir(node: Node, successors: tuple[str, ...], next_from: date) -> Node | None:
    """The one later unit an earlier unit's history goes to (see the module docstring)."""
    if len(successors) == 1:
        return successors[0], next_from
    return (node[0], next_from) if node[0] in successors else None
