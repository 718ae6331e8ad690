"""A batch's CPU work, pure so that it runs as well in a worker process as in the consumer's own: decode every
message, write the valid ones as COPY text for the staging table, and sum them per series-day.

What crosses between processes is small or flat: partitions, offsets and raw bytes in; one bytes object (the COPY
data), a few hundred per-series sums and the poison messages' reasons out.
"""

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from services.aggregator.decode import Decoder, Fact
from services.aggregator.fold import SeriesDay, SeriesSum, add_fact
from shared.domain.timeutil import EPOCH, micros

NULL = "\\N"


@dataclass(frozen=True)
class Part:
    """The records of one partition in a batch, in offset order."""

    partition: int
    offsets: list[int]
    values: list[bytes | None]


@dataclass
class Prepared:
    copy: bytes = b""  # agg_stage rows (store.STAGE_COLUMNS) in COPY text format
    rows: int = 0
    series: dict[SeriesDay, SeriesSum] = field(default_factory=dict)  # valid events summed per series-day
    received: dict[datetime, int] = field(default_factory=dict)  # received_at → events (latency histogram)
    poison: list[tuple[int, int, list[str]]] = field(default_factory=list)  # (part index, record index, reasons)
    periods: dict[tuple[str, str, str], Fact] = field(default_factory=dict)  # latest per (indicator, unit, period)
    amendments: list[tuple[int, int, Fact]] = field(default_factory=list)  # (partition, offset, fact), offset order
    ids: "array[int]" = field(default_factory=lambda: array("Q"))  # id_key of each staged event (consumer.py)

    def __getstate__(self) -> dict[str, Any]:
        """What crosses from the worker: the series-day sums as flat columns of numbers and strings. Pickled as
        dataclasses with dates and datetimes, a batch of 10,000 bench events (~2,000 series-days) took ~20 ms to
        dump and ~5 ms to load; as columns the whole batch takes ~4 ms and ~3 ms."""
        state = dict(self.__dict__)
        state["series"] = _columns(self.series)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["series"] = _series(state["series"])
        self.__dict__.update(state)


def _columns(series: dict[SeriesDay, SeriesSum]) -> tuple[list[Any], ...]:
    keys, sums = list(series), list(series.values())
    return (
        [k[0] for k in keys], [k[1] for k in keys], [k[2].toordinal() for k in keys],
        [s.numerator for s in sums], [s.denominator for s in sums], [s.events for s in sums],
        [micros(s.observed_at) for s in sums], [s.event_id for s in sums], [s.latest_numerator for s in sums],
        [s.latest_denominator for s in sums], [s.latest_value for s in sums],
    )  # fmt: skip


def _series(columns: tuple[list[Any], ...]) -> dict[SeriesDay, SeriesSum]:
    ordinal, moment = date.fromordinal, timedelta
    return {
        (indicator, unit, ordinal(day)): SeriesSum(num, den, events, EPOCH + moment(microseconds=us), event_id,
                                                   latest_num, latest_den, latest_value)
        for indicator, unit, day, num, den, events, us, event_id, latest_num, latest_den, latest_value
        in zip(*columns, strict=True)
    }  # fmt: skip


def prepare(decoder: Decoder, parts: list[Part]) -> Prepared:
    out = Prepared()
    lines: list[str] = []
    stamps: dict[datetime, int] = {}  # received_at is shared by every event of a request: convert it once
    series, received, ids = out.series, out.received, out.ids
    for partition, offset, fact in located(decoder, parts, out.poison):
        if fact.amends is not None:  # judged in the transaction against the events applied (aggregator/amend.py)
            out.amendments.append((partition, offset, fact))
            continue
        lines.append(copy_line(fact, partition, offset, stamps))
        ids.append(id_key(fact.event_id))
        add_fact(series, fact)
        if fact.period is not None:
            add_period(out.periods, fact)
        received[fact.received_at] = received.get(fact.received_at, 0) + 1
    out.copy, out.rows = "".join(lines).encode(), len(lines)
    return out


def add_period(latest: dict[tuple[str, str, str], Fact], fact: Fact) -> None:
    """Keep the latest fact (observed_at, then event_id) of each (indicator, unit, period)."""
    assert fact.period is not None
    key = (fact.indicator, fact.unit, fact.period)
    kept = latest.get(key)
    if kept is None or (fact.observed_at, fact.event_id) > (kept.observed_at, kept.event_id):
        latest[key] = fact


def latest_periods(facts: Iterable[Fact]) -> dict[tuple[str, str, str], Fact]:
    latest: dict[tuple[str, str, str], Fact] = {}
    for fact in facts:
        if fact.period is not None:
            add_period(latest, fact)
    return latest


def located(
    decoder: Decoder, parts: list[Part], poison: list[tuple[int, int, list[str]]]
) -> Iterator[tuple[int, int, Fact]]:
    """(partition, offset, fact) of every valid message; the others' reasons are added to `poison`."""
    for p, part in enumerate(parts):
        partition = part.partition
        for i, (offset, value) in enumerate(zip(part.offsets, part.values, strict=True)):
            decoded = decoder(value)
            if isinstance(decoded, list):
                poison.append((p, i, decoded))
            else:
                yield partition, offset, decoded


def id_key(event_id: str) -> int:
    """The first 64 bits of a canonical event_id, the same in every process (Python's str hash is not): two ids
    sharing them, of one source or two, only cost a needless wait."""
    return int(event_id[:8] + event_id[9:13] + event_id[14:18], 16)


def identity_of(fact: Fact) -> str:
    """An event's identity: its id is unique per source."""
    return f"{fact.source} {fact.event_id}"


def copy_line(e: Fact, partition: int, offset: int, stamps: dict[datetime, int]) -> str:
    """One agg_stage row in COPY text format. Every text field of a valid event is free of tabs, newlines and
    backslashes (identifiers by their patterns, the source by the source-name pattern), so none needs escaping.
    Times go as microseconds since the epoch: exact, cheap to write and to read, and free of UTC offsets that
    PostgreSQL's parser refuses (it takes up to ±15:59; RFC 3339 allows ±23:59)."""
    received = stamps.get(e.received_at)
    if received is None:
        received = stamps[e.received_at] = micros(e.received_at)
    num = NULL if e.numerator is None else e.numerator
    den = NULL if e.denominator is None else e.denominator
    val = NULL if e.value is None else repr(e.value)  # as fold.exact: the decimal the JSON number meant
    period = NULL if e.period is None else e.period  # "YYYY", "YYYY-Qn" or "YYYY-MM": nothing to escape
    return (
        f"{e.event_id}\t{e.indicator}\t{e.unit}\t{e.observed_us}\t{num}\t{den}\t{val}\t{e.source}\t"
        f"{received}\t{partition}\t{offset}\t{period}\n"
    )
