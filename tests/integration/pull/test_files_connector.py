"""The folder connector with good, bad and duplicate files, against a real collector, Kafka and PostgreSQL: each
content is sent once, files move to done/ or failed/ with a per-row report, bad rows are dead-lettered."""

import csv
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from dx.dlq import read_topic
from shared.settings import Settings
from tests.integration.pull.support import (
    collector_process,
    event_ids,
    files_connector,
    pull_settings,
    pulled_deadletters,
    runner,
    token_file,
    write_connector,
)
from tests.support.db import fetch

DAY = (date.today() - timedelta(days=3)).isoformat()
GOOD = f"""indicator,unit,date,numerator,denominator,value
gov.eid_users,14758,{DAY},120,400,
gov.eid_users,14797,{DAY},200,500,
overall.dti_rank,38,2024-12-31,,,11
"""
BAD_ROWS = f"""indicator,unit,date,numerator,denominator,value
gov.eid_users,14812,{DAY},50,100,
gov.eid_users,14755,{DAY},1,2,
gov.no_such_thing,14758,{DAY},1,2,
gov.eid_users,14818,not-a-date,1,2,
"""
ALL_BAD = f"""indicator,unit,date,numerator,denominator,value
gov.eid_users,99999,{DAY},1,2,
"""
UNREADABLE = "unit,date\n14758,2024-01-01\n"


@pytest.fixture
def collector(isolated: Settings) -> Iterator[str]:
    with collector_process(isolated) as url:
        yield url


def _xlsx(path: Path, rows: list[list[object]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def _report(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


async def test_each_file_is_processed_once_moved_and_reported(
    isolated: Settings, collector: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, text in {
        "good.csv": GOOD,
        "bad-rows.csv": BAD_ROWS,
        "all-bad.csv": ALL_BAD,
        "columns.csv": UNREADABLE,
    }.items():
        (inbox / name).write_text(text, encoding="utf-8")
    shutil.copy(inbox / "good.csv", inbox / "later-copy.csv")  # the same content under another name
    _xlsx(inbox / "sheet.xlsx", [["indicator", "unit", "date", "value", "period"],
                                 ["econ.digital_economy_share", 38, date(2025, 9, 30), 14.2, 2024]])  # fmt: skip
    token = await token_file(isolated, tmp_path, "so-tai-chinh")
    connector = write_connector(tmp_path / "connectors", "finance", files_connector(token, inbox))
    async with runner(pull_settings(isolated, collector)) as run:
        result = await run.run(connector, datetime.now(UTC))
        assert result is not None and result.outcome == "ok", result
        done, failed = inbox / "done", inbox / "failed"
        assert sorted(p.name for p in inbox.glob("*.csv")) == []
        assert sorted(p.name for p in done.iterdir()) == [
            "bad-rows.csv", "bad-rows.csv.errors.csv", "good.csv", "later-copy.csv", "later-copy.csv.errors.csv",
            "sheet.xlsx",
        ]  # fmt: skip
        assert sorted(p.name for p in failed.iterdir()) == [
            "all-bad.csv", "all-bad.csv.errors.csv", "columns.csv", "columns.csv.errors.csv",
        ]  # fmt: skip
        bad = _report(done / "bad-rows.csv.errors.csv")
        assert [(r[0], r[1], r[2].split(":")[0]) for r in bad] == [
            ("3", "unit", "unit_not_in_force"), ("4", "indicator", "unknown_indicator"), ("5", "date", "invalid_field"),
        ]  # fmt: skip
        assert _report(failed / "all-bad.csv.errors.csv")[0][2].startswith("unknown_unit: ")
        assert "missing column(s): indicator" in _report(failed / "columns.csv.errors.csv")[0][2]
        assert "duplicate: the same content as good.csv" in _report(done / "later-copy.csv.errors.csv")[0][2]

        (inbox / "good-again.csv").write_text(GOOD, encoding="utf-8")  # dropped again later, renamed
        again = await run.run(connector, None)
        assert again is not None and again.tally.counts() == (0, 0, 0)
        assert [e.reason.split(":")[0] for _, e in again.tally.errors] == ["duplicate"]
        assert (done / "good-again.csv").exists()

    files = await fetch(isolated, "SELECT file_name, outcome, rows, accepted, rejected FROM pull_files ORDER BY 1")
    assert [tuple(r) for r in files] == [
        ("all-bad.csv", "failed", 1, 0, 1), ("bad-rows.csv", "done", 4, 1, 3), ("columns.csv", "failed", 0, 0, 1),
        ("good.csv", "done", 3, 3, 0), ("sheet.xlsx", "done", 1, 1, 0),
    ]  # fmt: skip
    ids = await event_ids(isolated)
    assert len(ids) == 5 and len(set(ids)) == 5  # good.csv's three rows, bad-rows.csv's good one, the sheet's, once
    records = [orjson.loads(r.value) for r in await read_topic(isolated, isolated.topic_events)]
    assert [r["period"] for r in records if r["indicator"] == "econ.digital_economy_share"] == ["2024"]
    letters = await pulled_deadletters(isolated, "finance")
    assert sorted(d["record"]["unit"] for d in letters) == ["14755", "14758", "14818", "99999"]


async def test_a_file_still_being_written_waits_for_the_next_run(isolated: Settings, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "arriving.csv").write_text(GOOD, encoding="utf-8")
    token = await token_file(isolated, tmp_path, "so-tai-chinh")
    connector = write_connector(tmp_path / "connectors", "finance", files_connector(token, inbox, 3600))
    with collector_process(isolated) as url:
        async with runner(pull_settings(isolated, url)) as run:
            result = await run.run(connector, None)
            assert result is not None and result.outcome == "ok" and result.tally.counts() == (0, 0, 0)
            assert (inbox / "arriving.csv").exists()
            hour_ago = time.time() - 3700
            os.utime(inbox / "arriving.csv", (hour_ago, hour_ago))
            settled = await run.run(connector, None)
            assert settled is not None and settled.tally.counts() == (3, 3, 0)
    assert (inbox / "done" / "arriving.csv").exists()
