"""A corpus of distinct hostile events, each with the exact first error it must get: `(reason code, field)` of
`reason: field: message` (docs/http-api.md). Built from a valid event by changing one thing, per class; the HTTP
API, the ingest topic and the aggregator's topic are all checked against the same expectations."""

from collections.abc import Iterator
from datetime import date
from typing import Any, NamedTuple

from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy

DAY = date(2025, 8, 1)  # after the 2025-07-01 reform: districts and merged communes are no longer in force
AT = "2025-08-01T10:00:00+07:00"
INJECTIONS = ["'; DROP TABLE sources; --", "1' OR '1'='1", "\\'; TRUNCATE applied_events; --",
              "$$; DELETE FROM current_values; $$", "14755); DROP TABLE units; --",
              "gov.eid_users' UNION SELECT token_hash FROM sources --"]  # fmt: skip


class Hostile(NamedTuple):
    cls: str
    event: dict[str, Any]
    expected: tuple[str, str]  # (reason code, field) of the first error


def base(n: int) -> dict[str, Any]:
    """A valid event (gov.eid_users at Phường Hàm Rồng, after the reform) with an event id of its own."""
    return {"event_id": f"00000000-0000-4000-8000-{n:012d}", "indicator": "gov.eid_users", "unit": "14758",
            "observed_at": AT, "numerator": 40, "denominator": 100}  # fmt: skip


def corpus() -> list[Hostile]:
    return list(_generate())


def _generate() -> Iterator[Hostile]:
    n = iter(range(10**9))
    hierarchy, catalog = load_hierarchy(), load_catalog()
    known = sorted({code for v in hierarchy.versions for code in v.units})
    for code in (f"{9 * 10**4 + i}" for i in range(150)):
        if not hierarchy.known_anywhere(code):
            yield Hostile("unknown_unit", {**base(next(n)), "unit": code}, ("unknown_unit", "unit"))
    ended = [c for c in known if hierarchy.resolve(c, DAY) is None][:150]
    for code in ended:
        yield Hostile("unit_not_in_force", {**base(next(n)), "unit": code}, ("unit_not_in_force", "unit"))
    for code in ("38", *[u.code for u in hierarchy.version_at(date(2025, 3, 1)).units.values()  # type: ignore[union-attr]
                         if u.level == "district"]):  # fmt: skip
        event = {**base(next(n)), "unit": code, "observed_at": "2025-03-01T10:00:00+07:00"}
        yield Hostile("wrong_level", event, ("wrong_level", "unit"))
    codes = set(catalog.codes())
    for i in range(100):
        yield Hostile("unknown_indicator", {**base(next(n)), "indicator": f"gov.nope_{i}"},
                      ("unknown_indicator", "indicator"))  # fmt: skip
    assert not codes & {f"gov.nope_{i}" for i in range(100)}
    for i in range(100):
        yield Hostile("unknown_field", {**base(next(n)), f"x_{i}": i}, ("unknown_field", f"x_{i}"))
    for extra in range(1, 101):
        yield Hostile("numerator_over_denominator", {**base(next(n)), "numerator": 100 + extra},
                      ("out_of_range", "event"))  # fmt: skip
    for year in range(2031, 2131):
        yield Hostile("observed_in_future", {**base(next(n)), "observed_at": f"{year}-05-01T10:00:00+07:00"},
                      ("observed_in_future", "event"))  # fmt: skip
    for day in range(1, 101):
        moment = date.fromordinal(date(2019, 1, 1).toordinal() + day)
        yield Hostile("observed_too_old", {**base(next(n)), "observed_at": f"{moment}T10:00:00+07:00"},
                      ("observed_too_old", "event"))  # fmt: skip
    for d in range(1, 32):
        for text in (f"2025-07-{d:02d}T10:00:00", f"2025-07-{d:02d} 10:00", f"{d:02d}/07/2025 10:00:00+07:00"):
            yield Hostile("invalid_timestamp", {**base(next(n)), "observed_at": text},
                          ("invalid_timestamp", "observed_at"))  # fmt: skip
    for i in range(50):
        event = {k: v for k, v in base(next(n)).items() if k not in ("numerator", "denominator")}
        yield Hostile("ratio_sent_as_value", {**event, "value": float(i) + 0.5}, ("wrong_measure", "value"))
    for text in INJECTIONS:
        for field, code in (("indicator", "invalid_field"), ("unit", "invalid_field"), ("event_id", "invalid_field"),
                            ("observed_at", "invalid_timestamp"), ("period", "invalid_period")):  # fmt: skip
            yield Hostile("sql_injection", {**base(next(n)), field: text}, (code, field))
        yield Hostile("sql_injection", {**base(next(n)), "source": text}, ("unknown_field", "source"))
    for field in ("numerator", "denominator"):
        for value in ("40", 40.5, True, None, [40], {"n": 40}, "", -1, 10**13):
            event = {**base(next(n)), field: value}
            expected = ("wrong_measure", "event") if value is None else (
                ("out_of_range", field) if value in (-1, 10**13) else ("invalid_field", field))  # fmt: skip
            yield Hostile("type_confusion", event, expected)
    for field in ("event_id", "indicator", "unit"):
        for value in (1, 1.5, True, [], {}, "", " "):
            yield Hostile("type_confusion", {**base(next(n)), field: value}, ("invalid_field", field))
    for field in ("event_id", "indicator", "unit", "observed_at"):
        event = {k: v for k, v in base(next(n)).items() if k != field}
        yield Hostile("missing_field", event, ("missing_field", field))
