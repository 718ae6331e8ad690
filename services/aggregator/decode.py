"""Messages of dx.events.v1 → facts, or the reasons a message is poison (shared/contracts/deadletter.py).

`decode` is the reference: `AcceptedEvent` + `check_applicable`. Nothing the collector acknowledged becomes poison
later: the time rules compare with the event's own `received_at` (the instant the collector judged it), never with
this process's clock, and the catalog's bounds of a value are the collector's judgement, not re-run against a catalog
edited since (docs/events-and-topics.md). `Decoder` gives the same answers faster: a lean check of the hot event shape
that accepts only what the reference accepts (proved by a hypothesis test) and hands anything else, valid or not, to
the reference, so reasons and edge cases stay exactly its own.
"""

import math
import re
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import orjson
from pydantic import ValidationError

from shared.contracts.events import (
    EARLIEST_OBSERVATION,
    MAX_CLOCK_SKEW,
    MAX_COUNT,
    SOURCE_NAME_PATTERN,
    AcceptedEvent,
    reason_code,
    reasons,
)
from shared.domain.catalog import Catalog, Indicator, Measure
from shared.domain.hierarchy import Hierarchy
from shared.domain.periods import period_of
from shared.domain.timeutil import MICROSECOND, local_date, micros
from shared.domain.validation import check_applicable, effective_period


class Fact(NamedTuple):
    """A valid event as the aggregator uses it, with its local (Asia/Ho_Chi_Minh) observation day."""

    event_id: str  # canonical: lowercase, hyphenated (str(UUID)); PostgreSQL parses it into uuid
    indicator: str
    unit: str
    observed_at: datetime
    numerator: int | None
    denominator: int | None
    value: float | None
    source: str
    received_at: datetime
    day: date
    observed_us: int  # observed_at in microseconds since the epoch (how it is staged)
    period: str | None = None  # indicators with a reference period: the period the value describes
    corrects: str | None = None  # a correction: the event_id (same source) it replaces
    retracts: str | None = None  # a retraction: the event_id (same source) it withdraws
    operator: str | None = None  # an amendment sent by an operator (dx events) on the source's behalf

    @property
    def amends(self) -> str | None:
        return self.corrects or self.retracts


def fact_of(event: AcceptedEvent, catalog: Catalog) -> Fact:
    e = event
    day = local_date(e.observed_at)
    indicator = catalog.get(e.indicator)
    period = effective_period(indicator, e.period, day) if indicator is not None and e.retracts is None else None
    return Fact(str(e.event_id), e.indicator, e.unit, e.observed_at, e.numerator, e.denominator, e.value, e.source,
                e.received_at, day, micros(e.observed_at), period, _text(e.corrects), _text(e.retracts),
                e.operator)  # fmt: skip


def _text(found: UUID | None) -> str | None:
    return None if found is None else str(found)


def decode(value: bytes | None, catalog: Catalog, hierarchy: Hierarchy) -> AcceptedEvent | list[str]:
    """The event, or its errors (`reason: field: message`): the collector's rules as of the event's `received_at`."""
    if value is None:
        return ["undecodable: value: empty message (tombstone)"]
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        return [f"undecodable: value: not JSON: {err}"]
    if not isinstance(raw, dict):
        return ["undecodable: value: not a JSON object"]
    try:
        event = AcceptedEvent.model_validate(raw)
    except ValidationError as err:
        return reasons(err)
    errors = check_applicable(event, catalog, hierarchy)
    return errors or event


# The hot shape only: canonical lowercase UUIDs, `T`, at most microseconds, `Z` or ±hh:mm (anything else: reference).
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})", re.ASCII)
_INDICATOR = re.compile(r"[a-z]{1,16}\.[a-z0-9_]{1,48}", re.ASCII)
_UNIT = re.compile(r"[0-9]{2,6}", re.ASCII)
_SOURCE = re.compile(SOURCE_NAME_PATTERN)
_FAST_FIELDS = frozenset(AcceptedEvent.model_fields) - {"period", "corrects", "retracts", "operator"}
CACHE_MAX = 100_000  # entries of each memo below before it starts afresh
EARLIEST_US = micros(EARLIEST_OBSERVATION)
SKEW_US = MAX_CLOCK_SKEW // MICROSECOND
MINUTE_US = 60_000_000
K = TypeVar("K")
V = TypeVar("V")


class Decoder:
    """`decode` with a fast path; returns a Fact or the reference's errors."""

    def __init__(self, catalog: Catalog, hierarchy: Hierarchy) -> None:
        self.catalog, self.hierarchy = catalog, hierarchy
        # rank scales depend on the period: those few yearly events take the reference path
        self.indicators = {i.code: i for i in catalog.indicators if _INDICATOR.fullmatch(i.code) and not i.rank_scale}
        self.placed: dict[tuple[str, str, date], bool] = {}  # (indicator, unit, day) → unit in force at its level
        # received_at texts seen (shared by the events of one request) → the instant and the latest observation
        # it admits (observations after received_at + the allowed clock skew are in the future)
        self.received: dict[str, tuple[datetime, int]] = {}
        self.sources: dict[str, bool] = {}  # source text → a valid source name (a handful)
        self.days: dict[int, date] = {}  # minute since the epoch → its local date (offsets are whole minutes)

    def __call__(self, value: bytes | None) -> Fact | list[str]:
        fact = self.fast(value) if value is not None else None
        if fact is not None:
            return fact
        slow = decode(value, self.catalog, self.hierarchy)
        return slow if isinstance(slow, list) else fact_of(slow, self.catalog)

    def fast(self, value: bytes) -> Fact | None:
        """The fact when the message is of the hot shape and valid; None means "ask the reference"."""
        try:
            d = orjson.loads(value)
            if type(d) is not dict or not d.keys() <= _FAST_FIELDS:  # an own period or an amendment: the reference
                return None
            event_id, code, unit, source = d["event_id"], d["indicator"], d["unit"], d["source"]
            observed_at, received_text = _stamp(d["observed_at"]), d["received_at"]
            received = self.received.get(received_text) if type(received_text) is str else None
            if received is None:
                received = self._received(received_text)
        except (orjson.JSONDecodeError, KeyError, ValueError):
            return None
        indicator = self.indicators.get(code) if type(code) is str else None
        if (
            indicator is None
            or observed_at is None
            or received is None
            or type(event_id) is not str
            or not _UUID.fullmatch(event_id)
            or type(unit) is not str
            or type(source) is not str
            or not (self.sources.get(source) or self._source(source))
        ):
            return None
        received_at, latest_us = received
        observed_us = micros(observed_at)
        if observed_us > latest_us or observed_us < EARLIEST_US:
            return None
        num, den, val = d.get("numerator"), d.get("denominator"), d.get("value")
        if not _measure_ok(indicator, num, den, val):
            return None
        day = self.days.get(observed_us // MINUTE_US)
        if day is None:
            day = self._day(observed_at, observed_us)
        placed = self.placed.get((code, unit, day))
        if placed is None:
            placed = self._placed(indicator, unit, day)
        if not placed:
            return None
        period = None if indicator.period is None else period_of(indicator.period, day)
        return Fact(event_id, code, unit, observed_at, num, den, val, source, received_at, day, observed_us, period)

    def _day(self, observed_at: datetime, observed_us: int) -> date:
        return _remember(self.days, observed_us // MINUTE_US, local_date(observed_at))

    def _received(self, raw: Any) -> tuple[datetime, int] | None:
        moment = _stamp(raw)
        return None if moment is None else _remember(self.received, raw, (moment, micros(moment) + SKEW_US))

    def _source(self, source: str) -> bool:
        return _remember(self.sources, source, _SOURCE.fullmatch(source) is not None)

    def _placed(self, indicator: Indicator, unit: str, day: date) -> bool:
        found = self.hierarchy.resolve(unit, day) if _UNIT.fullmatch(unit) else None
        placed = found is not None and found.level == indicator.reported_at
        return _remember(self.placed, (indicator.code, unit, day), placed)


def _remember(memo: dict[K, V], key: K, value: V) -> V:
    """Store a memoised answer (the memo starts afresh when full) and return it."""
    if len(memo) >= CACHE_MAX:
        memo.clear()
    memo[key] = value
    return value


def _stamp(raw: Any) -> datetime | None:
    return datetime.fromisoformat(raw) if type(raw) is str and _STAMP.fullmatch(raw) else None


def _measure_ok(indicator: Indicator, num: Any, den: Any, val: Any) -> bool:
    """The schema's measure rules and check_event's, for the shapes the fast path takes."""
    if indicator.measure is Measure.RATIO:
        return val is None and type(num) is int and type(den) is int and 0 <= num <= den <= MAX_COUNT and den > 0
    if num is not None or den is not None or type(val) is not float or not math.isfinite(val):
        return False
    if indicator.min is not None and val < indicator.min:
        return False
    if indicator.max is not None and val > indicator.max:
        return False
    return not indicator.integer or val.is_integer()


def code_of(errors: list[str]) -> str:
    return reason_code(errors[0])
