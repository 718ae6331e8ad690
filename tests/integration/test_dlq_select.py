"""Choosing dead letters to replay, and reading records that are not what the contract says (no I/O)."""

import base64
from datetime import UTC, datetime

import orjson
import pytest

from dx.dlq import DeadLetter, SelectionError, parse_record, refusal, select
from shared.settings import Settings

T = datetime(2026, 1, 1, tzinfo=UTC)
LETTERS = [
    DeadLetter(0, 5, T, None, "unknown_unit: unit: 1"),
    DeadLetter(1, 5, T, None, "wrong_level: unit: 2"),
    DeadLetter(1, 6, T, None, "unknown_unit: unit: 3"),
]


def test_offsets_reasons_and_all_select_as_documented() -> None:
    assert select(LETTERS, ["1:5"]) == [LETTERS[1]]
    assert select(LETTERS, ["6"]) == [LETTERS[2]]  # unambiguous without the partition
    assert select(LETTERS, reason="unknown_unit") == [LETTERS[0], LETTERS[2]]
    assert select(LETTERS, ["0:5", "1:5"], reason="wrong_level") == [LETTERS[1]]
    assert select(LETTERS, everything=True) == LETTERS
    assert select(LETTERS) == []


@pytest.mark.parametrize(("offset", "message"), [("5", "use P:N"), ("2:5", "no dead letter"), ("x:y", "bad offset")])
def test_offsets_that_do_not_name_one_dead_letter_are_refused(offset: str, message: str) -> None:
    with pytest.raises(SelectionError, match=message):
        select(LETTERS, [offset])


def test_the_exact_original_bytes_come_from_base64() -> None:
    raw = b"\xff\xfe not utf-8"
    value = orjson.dumps(
        {"reason": "invalid_json: body: x", "original": None, "original_b64": base64.b64encode(raw).decode()}
    )
    letter = parse_record(0, 1, 0, b"k", value)
    assert (letter.original, letter.code, letter.key) == (raw, "invalid_json", b"k")


def test_unreadable_or_foreign_records_are_listed_but_not_replayed() -> None:
    settings = Settings()
    unreadable = parse_record(0, 1, 0, None, b"not json")
    assert unreadable.code == "unreadable_deadletter"
    assert refusal(unreadable, settings) is not None
    foreign = DeadLetter(0, 2, T, None, "x: y: z", source_topic="other.topic", original=b"{}")
    assert refusal(foreign, settings) == "source topic 'other.topic' is neither an ingest topic nor dx.events.v1"
    fine = DeadLetter(0, 3, T, None, "x: y: z", source_topic=settings.topic_events, original=b"{}")
    assert refusal(fine, settings) is None
