"""Thanh Hóa's administrative hierarchy, versioned by validity dates (DESIGN §3).

Commune codes are reused with new names across versions, so every question takes the date it is asked for.
"""

import csv
import io
import tomllib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from shared.domain.catalog import LEVEL_DEPTH


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

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


class Hierarchy:
    """Resolution of unit codes at a date: the unit, its parent chain, its children, the units in force."""

    def __init__(self, versions: Iterable[Version]) -> None:
        self.versions = sorted(versions, key=lambda v: v.valid_from)
        self._starts = [v.valid_from for v in self.versions]

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


def load_hierarchy(folder: Path | None = None) -> Hierarchy:
    """Load the versions listed in `versions.toml` of `folder` (default: the CSVs shipped with the package)."""
    root: Traversable | Path = folder if folder is not None else resources.files("shared") / "data" / "units"
    manifest = tomllib.loads((root / "versions.toml").read_text(encoding="utf-8"))
    versions = [
        _read_version((root / v["file"]).read_text(encoding="utf-8-sig"), v["valid_from"], v.get("valid_to"), v["file"])
        for v in manifest["versions"]
    ]
    return Hierarchy(versions)
