"""The simulator's picture of Thanh Hóa: a plausible baseline and trend per indicator and unit (pure, seeded).

Each (indicator, unit) gets its own baseline and yearly slope drawn from a seeded generator, around a
province-wide profile. The mountainous west (Mường Lát 384, Quan Hóa 385, Quan Sơn 387 and their communes,
before and after the 2025 reform) starts lower and moves more slowly.
"""

import random
from dataclasses import dataclass
from datetime import date

from shared.domain.hierarchy import Hierarchy

ORIGIN = date(2021, 1, 1)
WEST_DISTRICTS = frozenset({"384", "385", "387"})
# Communes in force from 2025-07-01 that cover the former districts of Mường Lát, Quan Hóa and Quan Sơn.
WEST_COMMUNES_2025 = frozenset(
    {
        "14845", "14848", "14854", "14857", "14860", "14863", "14864", "14866",  # Mường Lát … Mường Chanh
        "14869", "14872", "14875", "14878", "14890", "14896", "14902", "14908",  # Hồi Xuân … Thiên Phủ
        "15001", "15007", "15010", "15013", "15016", "15019", "15022", "15025",  # Trung Hạ … Mường Mìn
    }
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """Province-wide shape of one indicator: percent (or value) at 2021-01-01, change per year, spread."""

    base: float
    slope: float
    spread: float
    lo: float = 0.0
    hi: float = 100.0
    size: tuple[int, int] = (100, 100)  # denominator range per 2024 commune (ratio snapshots)


# Percent for ratios, the value itself for value/rank indicators. Counts (0/1 per unit) use a completion date.
PROFILES: dict[str, Profile] = {
    "gov.systems_connected": Profile(55, 11, 0, size=(48, 48)),
    "gov.online_inspections": Profile(12, 8, 6),
    "gov.level4_procedures_online": Profile(45, 14, 8, size=(90, 140)),
    "gov.satisfaction": Profile(86, 1.6, 3),
    "gov.eid_users": Profile(4, 19, 5, size=(300, 4000)),
    "econ.digital_economy_share": Profile(9.5, 1.6, 0, hi=100),
    "econ.labour_productivity_growth": Profile(8.8, 0.1, 1.2, lo=-100),
    "econ.enterprises_dx": Profile(12, 7.5, 6, size=(5, 250)),
    "soc.epayment_accounts": Profile(28, 8.5, 7, size=(3000, 22000)),
    "overall.dti_rank": Profile(24, -2.5, 3, lo=1, hi=63),
    "overall.dgov_rank": Profile(22, -2.2, 3, lo=1, hi=63),
}
DEFAULT_PROFILE = Profile(40, 5, 10)
COMPLETION_YEARS = (2022.0, 2031.0)  # range of dates units complete digital transformation (0 → 1)


def is_west(hierarchy: Hierarchy, code: str, day: date) -> bool:
    """True for the lagging mountainous west: the three districts, their communes, and their 2025 successors."""
    if code in WEST_DISTRICTS or (code in WEST_COMMUNES_2025 and day >= date(2025, 7, 1)):
        return True
    return any(a.code in WEST_DISTRICTS for a in hierarchy.ancestors(code, day))


def years_since_origin(day: date) -> float:
    return (day - ORIGIN).days / 365.25


class Model:
    """Deterministic per-unit trajectories for a seed."""

    def __init__(self, hierarchy: Hierarchy, seed: int) -> None:
        self.hierarchy = hierarchy
        self.seed = seed
        self._cache: dict[tuple[str, str, bool], tuple[float, float, float]] = {}

    def _draw(self, indicator: str, code: str, west: bool) -> tuple[float, float, float]:
        """(baseline, slope, size factor) of one unit, stable for the seed."""
        key = (indicator, code, west)
        if key not in self._cache:
            rng = random.Random(f"{self.seed}|{indicator}|{code}")
            p = PROFILES.get(indicator, DEFAULT_PROFILE)
            base = p.base + rng.gauss(0, p.spread)
            slope = p.slope * rng.uniform(0.6, 1.4)
            if west:
                base -= 2 * p.spread + abs(p.slope)
                slope *= 0.5
            self._cache[key] = (base, slope, rng.random())
        return self._cache[key]

    def level(self, indicator: str, code: str, day: date) -> float:
        """The unit's underlying level (percent or value) on `day`, within the profile's bounds."""
        p = PROFILES.get(indicator, DEFAULT_PROFILE)
        base, slope, _ = self._draw(indicator, code, is_west(self.hierarchy, code, day))
        return min(p.hi, max(p.lo, base + slope * years_since_origin(day)))

    def size(self, indicator: str, code: str, day: date) -> int:
        """Denominator of a ratio snapshot: the unit's own scale, larger for the merged communes of 2025-07."""
        lo, hi = PROFILES.get(indicator, DEFAULT_PROFILE).size
        _, _, factor = self._draw(indicator, code, False)
        merged = 3.3 if day >= date(2025, 7, 1) and lo != hi else 1.0
        return max(1, round((lo + (hi - lo) * factor) * merged))

    def completed(self, indicator: str, code: str, day: date) -> bool:
        """Whether a unit has completed digital transformation (count indicators) by `day`."""
        rng = random.Random(f"{self.seed}|{indicator}|{code}|done")
        start, end = COMPLETION_YEARS
        year = start + (end - start) * rng.random() ** 1.4
        if is_west(self.hierarchy, code, day):
            year += 3.0
        return bool(2021 + years_since_origin(day) >= year)
