"""`dx status` for a person: a short summary with the evaluation time by default, filters, a limit, `--json` with
every matching row, and one line with exit 2 for a filter that names nothing."""

import asyncio
import json
from typing import Any

import pytest

from dx.main import main
from shared.settings import Settings
from tests.support.db import fetch
from tests.support.targets import ROWS, write_target_rows

JSON_KEYS = ["indicator", "unit", "milestone", "value", "expected", "target", "projected", "status", "reason",
             "carried_from", "reporting_carried"]  # fmt: skip


@pytest.fixture
async def seeded(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    await write_target_rows(db_settings)
    monkeypatch.setenv("DX_PG_DATABASE", db_settings.pg_database)
    monkeypatch.setenv("COLUMNS", "200")
    return db_settings


async def _carried(settings: Settings) -> None:
    """Phường Hàm Rồng's satisfaction is carried from its 3 predecessors; 2 of the province's reporting communes
    carry theirs (current_values as the aggregator writes it, docs/lineage.md)."""
    await fetch(
        settings,
        "INSERT INTO current_values (indicator, unit, level, value, reporting_children, carried_from, "
        "reporting_carried) VALUES ('gov.satisfaction', '14758', 'commune', 80, NULL, 3, NULL), "
        "('gov.satisfaction', '38', 'province', 91.25, 120, NULL, 2)",
    )


async def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, ["status", *args])  # main runs its own event loop
    out, err = capsys.readouterr()
    return code, out, err


async def _json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    code, out, _ = await _run(capsys, "--json", *args)
    assert code == 0
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


async def test_json_lists_every_row_worst_first_with_exactly_the_documented_keys(
    seeded: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = await _json(capsys)
    assert len(rows) == len(ROWS) and all(list(r) == JSON_KEYS for r in rows)
    assert [r["status"] for r in rows[:3]] == ["missed", "missed", "missed"]
    assert rows[-1]["status"] == "not_applicable"


async def test_filters_by_status_milestone_and_level(seeded: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    missed = await _json(capsys, "--status", "missed", "--level", "province")
    assert {(r["indicator"], r["unit"]) for r in missed} == {
        ("soc.epayment_accounts", "38"),
        ("overall.dti_rank", "38"),
    }
    both = await _json(capsys, "--status", "missed", "--status", "no_data", "--level", "commune")
    assert {r["unit"] for r in both} == {"14758", "14797"}
    assert [r["milestone"] for r in await _json(capsys, "--milestone", "2030")] == ["2030"]
    districts = await _json(capsys, "--level", "district")  # a district after the reform still has its level
    assert [(r["unit"], r["status"]) for r in districts] == [("380", "not_applicable")]


async def test_the_default_is_a_summary_with_the_evaluation_time_and_the_worst_rows(
    seeded: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await _run(capsys, "--limit", "2")
    assert code == 0
    assert "đánh giá lúc 10:00 05/01/2026" in out  # 03:00 UTC is 10:00 in Thanh Hóa
    assert "2 of 7 targets, worst first" in out
    assert "Tỉnh Thanh Hóa (38): 2 không đạt, 1 có nguy cơ, 1 đã đạt" in out
    assert "Không đạt (missed)" in out and "Đã đạt (achieved)" in out
    assert "[/x]" in out  # text from the database is printed as it is, never read as markup


async def test_lineage_carried_values_are_marked_in_the_table_and_the_json(
    seeded: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    await _carried(seeded)
    rows = {(r["unit"], r["milestone"]): r for r in await _json(capsys, "--indicator", "gov.satisfaction")}
    assert (rows[("14758", "2025")]["carried_from"], rows[("14758", "2025")]["reporting_carried"]) == (3, None)
    assert (rows[("38", "2030")]["carried_from"], rows[("38", "2030")]["reporting_carried"]) == (None, 2)
    assert rows[("14797", "2025")]["carried_from"] is None  # no current value at all
    code, out, _ = await _run(capsys, "--indicator", "gov.satisfaction", "--all")
    assert code == 0
    assert "Mang sang từ (carried from)" in out
    assert out.count("3 đơn vị trước") == 1  # Hàm Rồng's 2025 row
    assert out.count("2 đơn vị con") == 2  # both province milestones


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "99999"], "dx status: --unit 99999: no unit has this code in any version of the hierarchy"),
        (["--indicator", "gov.nothing"], "dx status: --indicator gov.nothing: not in the catalog (known: "),
        (["--milestone", "2027"], "dx status: --milestone 2027: the catalog has milestones 2025, 2030"),
        (["--limit", "0"], "dx status: --limit 0: give a positive number of rows (or --all)"),
    ],
)
async def test_a_filter_that_names_nothing_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await _run(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(message)
