"""dx.rollups.v1: the current value of one (indicator, unit) after a batch changed it (compacted topic).

Key `indicator:unit` (shared.contracts.keys); value `RollupV1` as JSON. Written by the aggregator after its
transaction commits; read by the alerter, which evaluates the pair's targets. A lost message only delays the
alerter (it also evaluates every target on a clock), so the topic is a notification, not the record of truth
(PostgreSQL's current_values is).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.keys import pair_key, parse_pair_key
from shared.domain.timeutil import rfc3339

Number = int | float


class RollupV1(BaseModel):
    """One row of current_values as the alerter and other consumers see it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    indicator: str = Field(description="catalog code, e.g. gov.satisfaction")
    unit: str = Field(description="unit code (38 = the province)")
    level: str = Field(description="province, district or commune")
    value: Number | None = Field(description="the indicator's value in its display unit; null when nothing reports")
    numerator: Number | None = Field(description="ratio indicators: the summed numerator")
    denominator: Number | None = Field(description="ratio indicators: the summed denominator")
    coverage: float | None = Field(description="reporting children / children in force (1.0 for a leaf)")
    reporting_children: int | None
    children_in_force: int | None
    last_observed_at: AwareDatetime | None = Field(description="newest observed_at that contributed (RFC 3339)")
    updated_at: AwareDatetime | None = Field(description="when the aggregator wrote the row (RFC 3339)")


def rollup_key(indicator: str, unit: str) -> bytes:
    return pair_key(indicator, unit)


def rollup_pair(key: bytes | None) -> tuple[str, str] | None:
    """(indicator, unit) named by a dx.rollups.v1 key; None for a malformed key (the message is then ignored)."""
    return parse_pair_key(key)


def rollup_value(row: Any) -> bytes:
    """The JSON of `RollupV1` for one current_values row (numbers as JSON numbers, times as RFC 3339 with `Z`).

    Built with orjson rather than through the model: the aggregator sends one per changed row after every batch;
    tests/unit/test_contracts.py checks that the model reads it back unchanged."""

    def num(x: Decimal | None) -> float | int | None:
        if x is None:
            return None
        return int(x) if x == x.to_integral_value() else float(x)

    def ts(x: datetime | None) -> str | None:
        return None if x is None else rfc3339(x)

    return orjson.dumps({
        "indicator": row["indicator"], "unit": row["unit"], "level": row["level"], "value": num(row["value"]),
        "numerator": num(row["numerator"]), "denominator": num(row["denominator"]), "coverage": row["coverage"],
        "reporting_children": row["reporting_children"], "children_in_force": row["children_in_force"],
        "last_observed_at": ts(row["last_observed_at"]), "updated_at": ts(row["updated_at"]),
    })  # fmt: skip
