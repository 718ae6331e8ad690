"""The catalog holds every seed target with the seed's numbers, and a bad catalog names its mistake."""

import tomllib
from importlib import resources
from typing import Any

import pytest

from shared.domain.catalog import Catalog, CatalogError, Measure, Semantics, TargetKind, parse_catalog

# (code, measure, semantics, reported_at, 2025 target, 2030 target) transcribed from the province's plan
# (docs/targets-and-statuses.md).
SEED = [
    ("gov.systems_connected", "ratio", "snapshot", "province", 100, 100),
    ("gov.online_inspections", "ratio", "increment", "commune", 50, 70),
    ("gov.level4_procedures_online", "ratio", "snapshot", "commune", 100, 100),
    ("gov.satisfaction", "ratio", "increment", "commune", 90, 98),
    ("gov.eid_users", "ratio", "snapshot", "commune", 100, 100),
    ("econ.digital_economy_share", "value", "snapshot", "province", 20, 30),
    ("econ.labour_productivity_growth", "value", "snapshot", "province", 9.6, 8.1),
    ("econ.enterprises_dx", "ratio", "snapshot", "commune", 50, 80),
    ("soc.districts_dx_completed", "count", "snapshot", "district", 6, 100),
    ("soc.communes_dx_completed", "count", "snapshot", "commune", 300, 80),
    ("soc.epayment_accounts", "ratio", "snapshot", "commune", 50, 80),
    ("overall.dti_rank", "rank", "snapshot", "province", 10, 10),
    ("overall.dgov_rank", "rank", "snapshot", "province", None, 5),
]


def _raw() -> dict[str, Any]:
    text = resources.files("shared").joinpath("data/catalog.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_the_catalog_has_the_thirteen_seed_indicators(catalog: Catalog) -> None:
    assert sorted(catalog.codes()) == sorted(row[0] for row in SEED)


@pytest.mark.parametrize(("code", "measure", "semantics", "level", "t2025", "t2030"), SEED)
def test_each_seed_target_has_the_seeds_numbers(
    catalog: Catalog, code: str, measure: str, semantics: str, level: str, t2025: float | None, t2030: float
) -> None:
    ind = catalog[code]
    assert (ind.measure, ind.semantics, ind.reported_at) == (Measure(measure), Semantics(semantics), level)
    assert ind.targets["2030"].value == t2030
    if t2025 is None:
        assert "2025" not in ind.targets
    else:
        assert ind.targets["2025"].value == t2025


def test_ranks_are_lower_is_better_and_everything_else_higher(catalog: Catalog) -> None:
    for ind in catalog.indicators:
        assert ind.lower_is_better == (ind.measure is Measure.RANK)


def test_labour_productivity_targets_are_period_means(catalog: Catalog) -> None:
    targets = catalog["econ.labour_productivity_growth"].targets
    assert (targets["2025"].kind, targets["2025"].period_start) == (TargetKind.PERIOD_MEAN, 2021)
    assert (targets["2030"].kind, targets["2030"].period_start) == (TargetKind.PERIOD_MEAN, 2026)


def test_unit_count_targets_name_their_level(catalog: Catalog) -> None:
    districts = catalog["soc.districts_dx_completed"].targets
    communes = catalog["soc.communes_dx_completed"].targets
    assert (districts["2025"].kind, districts["2025"].units_level) == (TargetKind.UNITS_COUNT, "district")
    assert (districts["2030"].kind, districts["2030"].units_level) == (TargetKind.UNITS_PERCENT, "district")
    assert (communes["2025"].kind, communes["2030"].kind) == (
        TargetKind.UNITS_COUNT,
        TargetKind.UNITS_PERCENT,
    )


def test_every_label_keeps_its_diacritics(catalog: Catalog) -> None:
    assert catalog["gov.satisfaction"].label_vi.startswith("Tỷ lệ người dân")
    assert catalog.pillars["soc"].vi == "Xã hội số"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ind: ind.update(measure="percentage"), "indicator 'gov.satisfaction': field 'measure'"),
        (lambda ind: ind.pop("label_vi"), "indicator 'gov.satisfaction': field 'label_vi'"),
        (lambda ind: ind.update(tolerance=-1), "indicator 'gov.satisfaction': field 'tolerance'"),
        (
            lambda ind: ind["targets"]["2025"].update(kind="period_mean"),
            "indicator 'gov.satisfaction': field 'targets.2025'",
        ),
        (lambda ind: ind.update(pillar="space"), "indicator 'gov.satisfaction': field 'pillar'"),
        (lambda ind: ind.update(surprise=1), "indicator 'gov.satisfaction': field 'surprise'"),
    ],
)
def test_a_bad_catalog_fails_naming_the_indicator_and_field(change: Any, message: str) -> None:
    raw = _raw()
    satisfaction = next(i for i in raw["indicators"] if i["code"] == "gov.satisfaction")
    change(satisfaction)
    with pytest.raises(CatalogError, match=message.replace(".", r"\.")):
        parse_catalog(raw)


def test_a_duplicate_code_is_refused() -> None:
    raw = _raw()
    raw["indicators"].append(dict(raw["indicators"][0]))
    with pytest.raises(CatalogError, match="duplicate code"):
        parse_catalog(raw)


def test_the_three_2030_milestones_the_plan_does_not_set_maintain_the_2025_level(catalog: Catalog) -> None:
    maintained = {i.code for i in catalog.indicators if i.targets.get("2030") and i.targets["2030"].kind == "maintain"}
    assert maintained == {"gov.systems_connected", "gov.level4_procedures_online", "gov.eid_users"}
    assert all(catalog[c].targets["2030"].maintains == "2025" for c in maintained)


def test_yearly_statistics_have_a_period_a_publication_lag_and_productivity_a_compound_mean(catalog: Catalog) -> None:
    yearly = {i.code: i.publication_lag_days for i in catalog.indicators if i.period == "year"}
    assert yearly == {"econ.digital_economy_share": 270, "econ.labour_productivity_growth": 180,
                      "overall.dti_rank": 300, "overall.dgov_rank": 300}  # fmt: skip
    assert catalog["econ.labour_productivity_growth"].averaging == "compound"


def test_the_dti_ranks_63_provinces_until_the_2024_ranking_and_34_from_the_2025_one(catalog: Catalog) -> None:
    dti = catalog["overall.dti_rank"]
    assert (dti.scale_for("2021"), dti.scale_for("2024"), dti.scale_for("2025"), dti.scale_for("2026")) == (
        63, 63, 34, 34)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"targets": {"2025": {"value": 100.0}, "2030": {"value": 90.0, "kind": "maintain", "maintains": "2025"}}},
         "must equal the maintained milestone"),
        ({"targets": {"2025": {"value": 100.0}, "2030": {"value": 100.0, "kind": "maintain"}}}, "maintains"),
        ({"publication_lag_days": 30}, "needs a reference period"),
        ({"rank_scale": {"2020": 63}}, "rank indicators only"),
    ],
)  # fmt: skip
def test_period_fields_that_do_not_fit_are_refused(change: Any, message: str) -> None:
    raw = _raw()
    raw["indicators"][0] = {**raw["indicators"][0], **change}
    with pytest.raises(CatalogError, match=message):
        parse_catalog(raw)
