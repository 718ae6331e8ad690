"""A small hand-computed catalog for the alerter's table tests (every expected number is worked out by hand)."""

from typing import Any

from shared.domain.catalog import Catalog, parse_catalog


def indicator(code: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": code,
        "pillar": "gov",
        "label_vi": f"Chỉ tiêu {code}",
        "label_en": code,
        "measure": "ratio",
        "semantics": "snapshot",
        "reported_at": "province",
        "display_unit": "%",
        "tolerance": 3.0,
        "reporting_interval_days": 30,
    }
    return {**base, **fields}


HAND = [
    # plan: 20% on 2024-01-01 → 50% on 2025-12-31 (730 days) → 80% on 2030-12-31 (1826 days)
    indicator(
        "t.ratio",
        baseline_date="2024-01-01",
        baseline_value=20.0,
        targets={"2025": {"value": 50.0}, "2030": {"value": 80.0}},
    ),
    # rank, lower is better: plan 20 on 2024-01-01 → 10 on 2025-12-31 → 10 on 2030-12-31; tolerance 2
    indicator(
        "t.rank",
        pillar="overall",
        measure="rank",
        direction="lower",
        display_unit="hạng",
        min=1.0,
        max=63.0,
        integer=True,
        tolerance=2.0,
        reporting_interval_days=400,
        baseline_date="2024-01-01",
        baseline_value=20.0,
        targets={"2025": {"value": 10.0}, "2030": {"value": 10.0}},
    ),
    # period mean: mean of 2021–2025 ≥ 9.6, of 2026–2030 ≥ 8.1; tolerance 0.5
    indicator(
        "t.mean",
        pillar="econ",
        measure="value",
        display_unit="%/năm",
        min=-100.0,
        max=100.0,
        tolerance=0.5,
        reporting_interval_days=400,
        targets={
            "2025": {"value": 9.6, "kind": "period_mean", "period_start": 2021},
            "2030": {"value": 8.1, "kind": "period_mean", "period_start": 2026},
        },
    ),
    # communes: ≥300 by 2025, ≥80% of the communes in force by 2030
    indicator(
        "t.communes",
        pillar="soc",
        measure="count",
        reported_at="commune",
        display_unit="đơn vị",
        min=0.0,
        max=1.0,
        integer=True,
        tolerance=10.0,
        reporting_interval_days=200,
        targets={
            "2025": {"value": 300.0, "kind": "units_count", "units_level": "commune"},
            "2030": {"value": 80.0, "kind": "units_percent", "units_level": "commune"},
        },
    ),
    # districts: ≥6 by 2025, 100% of districts by 2030
    indicator(
        "t.districts",
        pillar="soc",
        measure="count",
        reported_at="district",
        display_unit="đơn vị",
        min=0.0,
        max=1.0,
        integer=True,
        tolerance=1.0,
        reporting_interval_days=200,
        targets={
            "2025": {"value": 6.0, "kind": "units_count", "units_level": "district"},
            "2030": {"value": 100.0, "kind": "units_percent", "units_level": "district"},
        },
    ),
]


def hand_catalog() -> Catalog:
    pillars = {p: {"vi": p, "en": p} for p in ("gov", "econ", "soc", "overall")}
    return parse_catalog({"version": 1, "pillars": pillars, "indicators": HAND})
