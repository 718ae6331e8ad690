"""amend.judge reads the named events once and decides each amendment in offset order over what the ones before it
accepted: a correction of a correction of the same transaction sees the first, a second correction of a replaced
event is refused, another source naming an amendment accepted just now is told it is foreign, a resend of an
accepted amendment is a duplicate; the writes keep offset order."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from services.aggregator import amend, amendments_store
from services.aggregator.decode import Fact

AT = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def fact(source: str, numerator: int | None = 5, event_id: str | None = None, **amends: str) -> Fact:
    return Fact(event_id or str(uuid.uuid4()), "gov.satisfaction", "14758", AT, numerator, 10 if numerator else None,
                None, source, AT, date(2026, 11, 1), 0, **amends)  # fmt: skip


async def test_amendments_are_judged_in_order_over_those_accepted_before_them(monkeypatch):
    original = fact("s1", 3)
    a1 = fact("s1", 4, corrects=original.event_id)
    a2 = fact("s1", 6, corrects=a1.event_id)  # a correction of a1, accepted just before it
    a3 = fact("s1", 7, corrects=original.event_id)  # original already replaced by a1
    a4 = fact("s2", None, retracts=a1.event_id)  # another source names a1
    a5 = fact("s1", 6, event_id=a2.event_id, corrects=a1.event_id)  # a resend of a2
    stored = amendments_store.row_of(0, 1, original) | {"retracts": None}
    writes: dict[str, Any] = {}

    async def applied_among(conn: Any, keys: Any) -> set[tuple[str, str]]:
        return set()  # none of the amendments' own ids is applied yet

    async def originals(conn: Any, keys: Any) -> dict[tuple[str, str], dict[str, Any]]:
        return {("s1", original.event_id): dict(stored)}  # only the original is in the database

    async def applied_elsewhere(conn: Any, event_id: str, source: str) -> bool:
        return False  # a1 is not stored yet: only the judge knows it was accepted

    async def refuse_all(conn: Any, refusals: Any) -> None:
        writes["refused"] = [(o, reason.split(":")[0]) for _, o, _, reason in refusals]

    async def accept_all(conn: Any, accepted: Any) -> None:
        writes["accepted"] = [f.event_id for _, _, f in accepted]

    async def kept_from(conn: Any) -> None:
        return None  # nothing pruned

    for name, function in [("applied_among", applied_among), ("originals", originals),
                           ("applied_elsewhere", applied_elsewhere), ("refuse_all", refuse_all),
                           ("accept_all", accept_all), ("kept_from", kept_from)]:  # fmt: skip
        monkeypatch.setattr(amendments_store, name, function)
    judged = await amend.judge(None, [(0, 10 + i, f) for i, f in enumerate([a1, a2, a3, a4, a5])])
    assert (judged.applied, judged.duplicates) == (2, 1)
    assert writes["accepted"] == [a1.event_id, a2.event_id]
    assert writes["refused"] == [(12, "original_replaced"), (13, "foreign_original"), (14, "duplicate")]
    assert [f.event_id for f in judged.removed] == [original.event_id, a1.event_id]  # each replaced contribution
    assert [f.numerator for f in judged.removed] == [3, 4] and [f.numerator for f in judged.added] == [4, 6]
