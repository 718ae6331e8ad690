"""Thanh Hóa's administrative hierarchy, versioned by validity dates, with the lineage between versions.

Commune codes are reused with new names across versions, so every question takes the date it is asked for, and a
unit's history is read by (code, version): see `shared/domain/lineage.py` and docs/lineage.md.
"""

import csv
import io
import tomllib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from shared.domain.catalog import LEVEL_DEPTH
from shared.domain.lineage import LEAF_LEVEL, Node, Source, heir, read_lineage, window

if TYPE_CHECKING:  # rollup builds on this module; only its types are named here
    from shared.domain.rollup import SpecKey, ValueSpec


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    level: str
    kind: str
    name: str
    full_name: str
    full_name_en: str
    parent_code: str | None
    valid_from: date
    valid_to: date | None  # exclusive; None = still in force


@dataclass(frozen=True)
class Version:
    """One state of the hierarchy and its validity interval [valid_from, valid_to)."""

    valid_from: date
    valid_to: date | None
    units: dict[str, Unit]
    children: dict[str, tuple[Unit, ...]] = field(default_factory=dict)
    predecessors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # code → codes in the previous version

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


class Hierarchy:
    """Resolution of unit codes at a date: the unit, its parent chain, its children, the units in force."""

    def __init__(self, versions: Iterable[Version]) -> None:
        self.versions = sorted(versions, key=lambda v: v.valid_from)
        self._starts = [v.valid_from for v in self.versions]
        self._by_start = {v.valid_from: v for v in self.versions}
        self._heirs: dict[Node, Node | None] = {}
        self.value_specs: dict[SpecKey, ValueSpec | None] = {}  # rollup.value_spec's memo: the versions never change
        self.chains: dict[tuple[str, date], tuple[str, ...]] = {}  # rollup.chain's memo
        self.as_of_days: dict[tuple[str, date], date | None] = {}  # rollup.as_of_day's memo
        self.scope_codes: dict[tuple[frozenset[str], date], frozenset[str]] = {}  # unitref.scope_codes' memo
        for older, newer in zip(self.versions, self.versions[1:], strict=False):
            successors: dict[str, list[str]] = {}
            for code, olds in newer.predecessors.items():
                for old in olds:
                    successors.setdefault(old, []).append(code)
            for code in older.units:
                node = (code, older.valid_from)
                self._heirs[node] = heir(node, tuple(successors.get(code, ())), newer.valid_from)
        self._carried: dict[Node, list[Node]] = {}
        for node, to in self._heirs.items():
            if to is not None:
                self._carried.setdefault(to, []).append(node)
        self._below: dict[tuple[Node, str], list[str]] = {}
        for version in self.versions:
            for unit in version.units.values():
                parent = unit.parent_code
                while parent is not None:
                    self._below.setdefault(((parent, version.valid_from), unit.level), []).append(unit.code)
                    parent = version.units[parent].parent_code

    def version_at(self, day: date) -> Version | None:
        i = bisect_right(self._starts, day) - 1
        if i < 0 or not self.versions[i].covers(day):
            return None
        return self.versions[i]

    def resolve(self, code: str, day: date) -> Unit | None:
        version = self.version_at(day)
        return version.units.get(code) if version else None

    def parent(self, code: str, day: date) -> Unit | None:
        unit = self.resolve(code, day)
        return self.resolve(unit.parent_code, day) if unit and unit.parent_code else None

    def ancestors(self, code: str, day: date) -> list[Unit]:
        """Parents from the nearest up to the province, as in force at `day`."""
        chain: list[Unit] = []
        parent = self.parent(code, day)
        while parent is not None:
            chain.append(parent)
            parent = self.parent(parent.code, day)
        return chain

    def children(self, code: str, day: date) -> tuple[Unit, ...]:
        version = self.version_at(day)
        return version.children.get(code, ()) if version else ()

    def units_in_force(self, day: date, level: str | None = None) -> list[Unit]:
        version = self.version_at(day)
        if version is None:
            return []
        return [u for u in version.units.values() if level is None or u.level == level]

    def level_exists(self, level: str, day: date) -> bool:
        return bool(self.units_in_force(day, level))

    def is_within(self, code: str, scope_code: str, day: date) -> bool:
        """True when `code` is `scope_code` or lies under it at `day`."""
        if self.resolve(code, day) is None:
            return False
        return code == scope_code or any(a.code == scope_code for a in self.ancestors(code, day))

    def known_anywhere(self, code: str) -> bool:
        return any(code in v.units for v in self.versions)

    def version_of(self, node: Node) -> Version:
        return self._by_start[node[1]]

    def node_at(self, code: str, day: date) -> Node | None:
        """The unit a code names on `day`: observations belong to the unit in force at their observed_at."""
        version = self.version_at(day)
        return (code, version.valid_from) if version is not None and code in version.units else None

    def heir_of(self, node: Node) -> Node | None:
        """The later unit this unit's history is carried to (None: the last version, or divided without heir)."""
        return self._heirs.get(node)

    def carried_to(self, node: Node) -> list[Node]:
        """The units of the previous version whose history this unit carries."""
        return self._carried.get(node, [])

    def heirs_after(self, node: Node) -> list[Node]:
        """The later units, nearest first, whose history includes this unit's."""
        out: list[Node] = []
        found = self.heir_of(node)
        while found is not None:
            out.append(found)
            found = self.heir_of(found)
        return out

    def sources(self, node: Node) -> list[Source]:
        """Every piece of a unit's history: its own observations first, then what its predecessors carried."""
        out: list[Source] = []
        todo: list[tuple[Node, tuple[Node, ...]]] = [(node, ())]
        while todo:
            at, path = todo.pop(0)
            version = self.version_of(at)
            out.append(Source(at, *window(version.valid_from, version.valid_to), path))
            todo += [(p, (*path, at)) for p in sorted(self.carried_to(at))]
        return out

    def below(self, node: Node, level: str) -> list[str]:
        """The codes of the units at `level` under a unit, in the unit's version."""
        return self._below.get((node, level), [])

    def all_units(self) -> list[Unit]:
        """Every (code, version) row, for loading into the database."""
        return [u for v in self.versions for u in v.units.values()]


def _read_version(text: str, valid_from: date, valid_to: date | None, source: str) -> Version:
    units: dict[str, Unit] = {}
    for row in csv.DictReader(io.StringIO(text)):
        level = row["level"].strip()
        if level not in LEVEL_DEPTH:
            raise ValueError(f"{source}: unit {row['code']}: unknown level {level!r}")
        units[row["code"].strip()] = Unit(
            code=row["code"].strip(),
            level=level,
            kind=row["kind"].strip(),
            name=row["name"].strip(),
            full_name=row["full_name"].strip(),
            full_name_en=row["full_name_en"].strip(),
            parent_code=row["parent_code"].strip() or None,
            valid_from=valid_from,
            valid_to=valid_to,
        )
    children: dict[str, list[Unit]] = {}
    for unit in units.values():
        if unit.parent_code is not None:
            if unit.parent_code not in units:
                raise ValueError(f"{source}: unit {unit.code}: parent {unit.parent_code} is missing")
            children.setdefault(unit.parent_code, []).append(unit)
    return Version(valid_from, valid_to, units, {k: tuple(v) for k, v in children.items()})


Predecessors = dict[str, tuple[str, ...]]


def _derived_predecessors(older: Version, newer: Version, leaf: Predecessors) -> Predecessors:
    """Predecessors of every unit of `newer`: its communes' from the lineage file; a district's or the province's are
    the units of the same level that held its communes' predecessors."""

    def ancestor_at(code: str, level: str) -> str | None:
        unit: Unit | None = older.units[code]
        while unit is not None and unit.level != level:
            unit = older.units.get(unit.parent_code) if unit.parent_code else None
        return unit.code if unit is not None else None

    out = dict(leaf)
    for unit in newer.units.values():
        if unit.level == LEAF_LEVEL:
            continue
        communes = [c for c in newer.units.values() if c.level == LEAF_LEVEL and _is_under(newer, c, unit.code)]
        found = {ancestor_at(p, unit.level) for c in communes for p in leaf.get(c.code, ())}
        out[unit.code] = tuple(sorted(c for c in found if c is not None))
    return out


def _is_under(version: Version, unit: Unit, ancestor: str) -> bool:
    parent = unit.parent_code
    while parent is not None:
        if parent == ancestor:
            return True
        parent = version.units[parent].parent_code
    return False


def load_hierarchy(folder: Path | None = None) -> Hierarchy:
    """Load the versions listed in `versions.toml` of `folder` (default: the CSVs shipped with the package), each
    after the first with the lineage file that maps the previous version's communes onto its own (validated)."""
    root: Traversable | Path = folder if folder is not None else resources.files("shared") / "data" / "units"
    manifest = tomllib.loads((root / "versions.toml").read_text(encoding="utf-8"))
    entries = sorted(manifest["versions"], key=lambda v: v["valid_from"])
    versions: list[Version] = []
    for entry in entries:
        version = _read_version(
            (root / entry["file"]).read_text(encoding="utf-8-sig"), entry["valid_from"], entry.get("valid_to"),
            entry["file"],
        )  # fmt: skip
        if versions:
            older = versions[-1]
            if older.valid_to != version.valid_from:
                raise ValueError(
                    f"{entry['file']}: starts {version.valid_from}, the previous one ends {older.valid_to}"
                )
            if "lineage" not in entry:
                raise ValueError(f"{entry['file']}: a version after the first needs a lineage file")
            old_names, new_names = (
                {u.code: (u.level, u.full_name) for u in v.units.values()} for v in (older, version)
            )
            text = (root / entry["lineage"]).read_text(encoding="utf-8-sig")
            leaf = read_lineage(text, old_names, new_names, entry["lineage"])
            version = replace(version, predecessors=_derived_predecessors(older, version, leaf))
        versions.append(version)
    return Hierarchy(versions)
