"""Event schema v1 (docs/events-and-topics.md) as pydantic models, with every rule that needs no catalog or hierarchy.

Error types double as the stable reason codes the collector reports and counts (`reason` label).
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self
from uuid import UUID

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.contracts.keys import pair_key
from shared.domain.periods import parse_period
from shared.domain.timeutil import LOCAL_TZ, local_date

EARLIEST_OBSERVATION = datetime(2020, 1, 1, tzinfo=LOCAL_TZ)
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_COUNT = 10**12  # numerators and denominators: a trillion is beyond any real population or dossier count

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)

IndicatorCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{1,16}\.[a-z0-9_]{1,48}$")]
UnitCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,6}$")]
SOURCE_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"  # names of sources (`dx sources add NAME`)
SourceName = Annotated[str, StringConstraints(pattern=SOURCE_NAME_PATTERN)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]


class EventV1(BaseModel):
    """An indicator observation as a source system sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    event_id: UUID
    indicator: IndicatorCode
    unit: UnitCode
    observed_at: AwareDatetime
    numerator: Count | None = None
    denominator: Count | None = None
    value: StrictFloat | None = None
    period: str | None = None  # the reference period the value describes: "YYYY", "YYYY-Qn" or "YYYY-MM"
    corrects: UUID | None = Field(
        None,
        description="a correction: the event_id (of this event's own source) whose place it takes; the full corrected "
        "event (the original's indicator and unit, its measures). Only that source may send it (or an operator).",
    )
    retracts: UUID | None = Field(
        None,
        description="a retraction: the event_id (of this event's own source) withdrawn; the original's indicator and "
        "unit, observed_at = when it was withdrawn, no measures and no period",
    )

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, raw: Any) -> Any:
        if raw is not None and (not isinstance(raw, str) or parse_period(raw) is None):
            raise PydanticCustomError("invalid_period", 'period must be "YYYY", "YYYY-Qn" or "YYYY-MM"')
        return raw

    @field_validator("observed_at", mode="before")
    @classmethod
    def _rfc3339(cls, raw: Any) -> Any:
        if isinstance(raw, datetime):
            return raw
        if not isinstance(raw, str) or not _RFC3339.fullmatch(raw):
            raise PydanticCustomError("invalid_timestamp", "observed_at must be an RFC 3339 timestamp with an offset")
        return raw

    @model_validator(mode="after")
    def _measure_and_time(self, info: ValidationInfo) -> Self:
        self._amends()
        has_ratio = self.numerator is not None or self.denominator is not None
        if self.retracts is not None and (has_ratio or self.value is not None or self.period is not None):
            raise PydanticCustomError("wrong_measure", "a retraction carries no numerator, denominator, value, period")
        if has_ratio and self.value is not None:
            raise PydanticCustomError("wrong_measure", "send either numerator/denominator or value, not both")
        if not has_ratio and self.value is None and self.retracts is None:
            raise PydanticCustomError("wrong_measure", "send numerator and denominator, or value")
        if has_ratio and (self.numerator is None or self.denominator is None):
            raise PydanticCustomError("wrong_measure", "numerator and denominator go together")
        if self.denominator is not None and self.denominator <= 0:
            raise PydanticCustomError("out_of_range", "denominator must be greater than 0")
        if self.numerator is not None and self.denominator is not None and self.numerator > self.denominator:
            raise PydanticCustomError("out_of_range", "numerator must not exceed denominator")
        now = self._judged_at(info)
        if self.observed_at > now + MAX_CLOCK_SKEW:
            raise PydanticCustomError("observed_in_future", "observed_at is in the future")
        if self.observed_at < EARLIEST_OBSERVATION:
            raise PydanticCustomError("observed_too_old", "observed_at is before 2020-01-01")
        found = parse_period(self.period) if self.period is not None else None
        if found is not None and found.start > local_date(now):
            raise PydanticCustomError("period_in_future", "period {period} has not begun", {"period": self.period})
        return self

    def _amends(self) -> None:
        if self.corrects is not None and self.retracts is not None:
            raise PydanticCustomError("invalid_amendment", "send either corrects or retracts, not both")
        if self.event_id in (self.corrects, self.retracts):
            raise PydanticCustomError("invalid_amendment", "an event cannot correct or retract itself")

    @property
    def amends(self) -> UUID | None:
        """The event_id this event corrects or retracts (None: an ordinary observation)."""
        return self.corrects or self.retracts

    def _judged_at(self, info: ValidationInfo) -> datetime:
        """The clock the time rules compare with: the receiver's (`context={"now": ...}`), else this process's."""
        now: datetime | None = (info.context or {}).get("now")
        return now or datetime.now(UTC)

    @property
    def key(self) -> bytes:
        """Kafka key of the event: `indicator:unit`."""
        return pair_key(self.indicator, self.unit)


class AcceptedEvent(EventV1):
    """A validated event as it travels on dx.events.v1: the collector adds the source and the time received."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    source: SourceName  # the collector sets it from the credential: always a source's name
    received_at: AwareDatetime
    operator: SourceName | None = Field(
        None,
        description="only from `dx events correct|retract`: the operator who amended the source's event for it",
    )

    @model_validator(mode="after")
    def _operator_amends(self) -> Self:
        if self.operator is not None and self.amends is None:
            raise PydanticCustomError("invalid_amendment", "operator is set only on corrections and retractions")
        return self

    def _judged_at(self, info: ValidationInfo) -> datetime:
        """An accepted event is judged by the clock that accepted it: the collector validated it at exactly
        `received_at`, so a reader whose clock differs (or runs later, through a backlog) gives the same answer."""
        return self.received_at


_REASON_BY_TYPE = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
}


def reasons(err: ValidationError) -> list[str]:
    """Readable, stable error strings `reason: field: message` for each problem of a ValidationError."""
    out = []
    for item in err.errors(include_url=False):
        code = _REASON_BY_TYPE.get(item["type"], item["type"])
        if code not in _CUSTOM_CODES and code not in _REASON_BY_TYPE.values():
            code = "invalid_field"
        field = ".".join(str(p) for p in item["loc"]) or "event"
        out.append(f"{code}: {field}: {item['msg']}")
    return out


_CUSTOM_CODES = {
    "invalid_timestamp",
    "wrong_measure",
    "out_of_range",
    "observed_in_future",
    "observed_too_old",
    "invalid_period",
    "period_in_future",
    "period_after_observation",
    "invalid_amendment",
}


def accepted_value(raw: dict[str, Any], source: str, received_at: str) -> bytes:
    """The dx.events.v1 value of a valid event: the event exactly as sent, plus `source` and `received_at`."""
    return orjson.dumps({**raw, "source": source, "received_at": received_at})


def reason_code(error: str) -> str:
    """The reason code of an error string made by `reasons` or `shared.domain.validation`."""
    return error.split(":", 1)[0]
