"""The indicator catalog (docs/targets-and-statuses.md): data loaded from TOML and validated; a mistake names itself."""

import tomllib
from datetime import date
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.domain.periods import Granularity, parse_period

Level = Literal["province", "district", "commune"]
LEVEL_DEPTH: dict[str, int] = {"province": 0, "district": 1, "commune": 2}


class Measure(StrEnum):
    RATIO = "ratio"
    VALUE = "value"
    COUNT = "count"
    RANK = "rank"


class Semantics(StrEnum):
    SNAPSHOT = "snapshot"
    INCREMENT = "increment"


class TargetKind(StrEnum):
    LEVEL = "level"
    PERIOD_MEAN = "period_mean"
    UNITS_COUNT = "units_count"
    UNITS_PERCENT = "units_percent"
    MAINTAIN = "maintain"  # keep the level of an earlier milestone (the plan sets no new figure for this year)


class Averaging(StrEnum):
    """How a period mean of yearly values is formed: "tăng bình quân hàng năm" is a compound annual rate."""

    ARITHMETIC = "arithmetic"
    COMPOUND = "compound"


class CatalogError(ValueError):
    """The catalog file is wrong; the message names the indicator and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pillar(_Strict):
    vi: str
    en: str


class Target(_Strict):
    """One milestone of one indicator: reach `value` by the end of `year` (Asia/Ho_Chi_Minh)."""

    milestone: str = ""
    value: float
    kind: TargetKind = TargetKind.LEVEL
    period_start: int | None = None
    units_level: Level | None = None
    maintains: str | None = None  # kind = maintain: the milestone whose level is kept

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind is TargetKind.PERIOD_MEAN and self.period_start is None:
            raise ValueError("period_mean targets need period_start")
        if self.kind in (TargetKind.UNITS_COUNT, TargetKind.UNITS_PERCENT) and self.units_level is None:
            raise ValueError(f"{self.kind.value} targets need units_level")
        if self.kind is TargetKind.UNITS_PERCENT and not 0 <= self.value <= 100:
            raise ValueError("units_percent targets are a percentage 0–100")
        if (self.kind is TargetKind.MAINTAIN) != (self.maintains is not None):
            raise ValueError("maintain targets, and only they, name the milestone they maintain (maintains)")
        return self

    @property
    def year(self) -> int:
        return int(self.milestone)

    @property
    def deadline(self) -> date:
        """Last local day of the milestone year."""
        return date(self.year, 12, 31)


class Indicator(_Strict):
    code: str = Field(pattern=r"^[a-z]+\.[a-z0-9_]+$")
    pillar: str
    label_vi: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    measure: Measure
    semantics: Semantics
    reported_at: Level
    direction: Literal["higher", "lower"] = "higher"
    display_unit: str
    min: float | None = None
    max: float | None = None
    integer: bool = False
    tolerance: float = Field(ge=0)
    reporting_interval_days: int = Field(gt=0)
    baseline_date: date | None = None
    baseline_value: float | None = None
    period: Granularity | None = None  # the reference period a value describes; None: a value as of its day
    publication_lag_days: int = Field(default=0, ge=0)  # official figure expected this long after the period
    averaging: Averaging = Averaging.ARITHMETIC  # period_mean targets
    rank_scale: dict[str, int] = Field(default_factory=dict)  # first period → number of units ranked from then
    targets: dict[str, Target]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.targets:
            raise ValueError("at least one target is required")
        for key, target in self.targets.items():
            if not (key.isdigit() and len(key) == 4):
                raise ValueError(f"targets.{key}: the milestone must be a year such as 2025")
            object.__setattr__(target, "milestone", key)
        if self.measure is Measure.RATIO and (self.min is not None or self.max is not None):
            raise ValueError("ratio indicators are 0–100 by construction: no min/max")
        if self.semantics is Semantics.INCREMENT and self.measure is not Measure.RATIO:
            raise ValueError("increment semantics apply to ratio indicators only")
        if (self.baseline_date is None) != (self.baseline_value is None):
            raise ValueError("baseline_date and baseline_value go together")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        self._check_periods()
        return self

    def _check_periods(self) -> None:
        for key, target in self.targets.items():
            if target.kind is TargetKind.PERIOD_MEAN and self.period not in (None, Granularity.YEAR):
                raise ValueError(f"targets.{key}: period_mean needs yearly values (period = 'year')")
            if target.kind is TargetKind.MAINTAIN:
                kept = self.targets.get(target.maintains or "")
                if kept is None or kept.milestone >= key or kept.kind is TargetKind.MAINTAIN:
                    raise ValueError(f"targets.{key}: maintains must name an earlier milestone with its own figure")
                if kept.value != target.value:
                    raise ValueError(f"targets.{key}: value must equal the maintained milestone's ({kept.value:g})")
        if self.rank_scale and self.measure is not Measure.RANK:
            raise ValueError("rank_scale applies to rank indicators only")
        for first, size in self.rank_scale.items():
            found = parse_period(first)
            if found is None or self.period is None or found.granularity is not self.period:
                raise ValueError(f"rank_scale.{first}: keys are periods of the indicator's granularity")
            if size < 1 or (self.max is not None and size > self.max):
                raise ValueError(f"rank_scale.{first}: {size} is not a number of units within min–max")
        if self.publication_lag_days and self.period is None:
            raise ValueError("publication_lag_days needs a reference period (period)")

    def scale_for(self, period: str) -> int | None:
        """How many units the ranking of `period` ranks (rank_scale), None when the catalog says nothing."""
        size = None
        for first in sorted(self.rank_scale):
            if first <= period:
                size = self.rank_scale[first]
        return size

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"

    def milestones(self) -> list[Target]:
        return [self.targets[k] for k in sorted(self.targets)]


class Catalog(_Strict):
    version: int
    pillars: dict[str, Pillar]
    indicators: tuple[Indicator, ...]

    @cached_property
    def _index(self) -> dict[str, Indicator]:
        """A plain dict: lookups sit on the aggregator's hot path (pydantic private attributes are slow)."""
        return {i.code: i for i in self.indicators}

    def get(self, code: str) -> Indicator | None:
        return self._index.get(code)

    def __getitem__(self, code: str) -> Indicator:
        return self._index[code]

    def codes(self) -> list[str]:
        return [i.code for i in self.indicators]


def _explain(err: ValidationError, where: str) -> str:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(indicator)"
    return f"{where}: field {field!r}: {first['msg']}"


def parse_catalog(raw: dict[str, Any]) -> Catalog:
    """Validate a decoded catalog; each error names the indicator (by code or position) and the field."""
    indicators = []
    for position, item in enumerate(raw.get("indicators", [])):
        where = f"indicator {item.get('code', f'#{position + 1}')!r}"
        try:
            indicators.append(Indicator.model_validate(item))
        except ValidationError as err:
            raise CatalogError(_explain(err, where)) from None
    try:
        catalog = Catalog.model_validate({**raw, "indicators": indicators})
    except ValidationError as err:
        raise CatalogError(_explain(err, "catalog")) from None
    seen: set[str] = set()
    for ind in catalog.indicators:
        if ind.code in seen:
            raise CatalogError(f"indicator {ind.code!r}: field 'code': duplicate code")
        if ind.pillar not in catalog.pillars:
            raise CatalogError(f"indicator {ind.code!r}: field 'pillar': unknown pillar {ind.pillar!r}")
        seen.add(ind.code)
    return catalog


def load_catalog(path: Path | None = None) -> Catalog:
    """Load the catalog from `path`, or the one shipped with the package."""
    if path is None:
        text = resources.files("shared").joinpath("data/catalog.toml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CatalogError(f"catalog {path or 'catalog.toml'}: not valid TOML: {err}") from None
    return parse_catalog(raw)
