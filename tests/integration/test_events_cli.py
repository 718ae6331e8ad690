"""`dx events`: an event's correction chain, who sent each step and what it changed, its refused copies; the trail
of one (indicator, unit); one line and exit 2 for input that names nothing."""

import asyncio
import json
import uuid
from typing import Any

import pytest

from dx.main import main
from shared.settings import Settings
from testing.processes import settings_env
from tests.integration.test_aggregator_amendments import correction, counted, retraction
from tests.integration.test_aggregator_harness import SATISFACTION, current, event, running, send
from tests.support.env import eventually


async def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, ["events", *args])  # main runs its own event loop
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def chain(isolated: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An event corrected, the correction corrected, the last retracted; a duplicate and a foreign retraction."""
    original = event(SATISFACTION, "14758", "2026-11-01T09:00:00+07:00", 3, 10)
    first = correction(original, numerator=4, denominator=10)
    second = correction(first, numerator=5, denominator=10)
    withdrawn = retraction(second)
    foreign = {**retraction(original), "source": "other"}
    async with running(isolated):
        await send(isolated, [original, first, second, withdrawn, first, foreign])
        await eventually(lambda: counted(isolated, 4, 2))
    monkeypatch.setenv("DX_PG_DATABASE", isolated.pg_database)
    monkeypatch.setenv("COLUMNS", "250")
    return {"original": original, "first": first, "second": second, "withdrawn": withdrawn, "foreign": foreign}


async def test_show_prints_the_chain_from_the_original_with_what_each_step_changed(
    chain: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await _run(capsys, "show", chain["first"]["event_id"], "--json")
    assert code == 0
    doc = json.loads(out)
    steps = doc["chains"]["test"]
    assert [s["event_id"] for s in steps] == [
        chain[k]["event_id"] for k in ("original", "first", "second", "withdrawn")
    ]
    assert [s["replaced_by"] for s in steps[:3]] == [chain[k]["event_id"] for k in ("first", "second", "withdrawn")]
    assert [(s["numerator"], s["denominator"]) for s in steps] == [(3, 10), (4, 10), (5, 10), (None, None)]
    assert [r["reason"].split(":")[0] for r in doc["refused"]] == ["duplicate"]  # the second copy of `first`
    assert doc["current"][0]["value"] is None  # retracted: no value left
    code, out, _ = await _run(capsys, "show", chain["first"]["event_id"])
    assert code == 0
    assert "3/10 → 4/10" in out and "4/10 → 5/10" in out and "withdrew 5/10" in out and "duplicate" in out


async def test_list_shows_every_event_and_refusal_of_the_unit_newest_first(
    chain: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await _run(capsys, "list", "--unit", "14758", "--indicator", SATISFACTION, "--json")
    assert code == 0
    kinds = sorted(r["kind"] for r in json.loads(out))
    assert kinds == sorted(["event (replaced)", "correction (replaced)", "correction (replaced)", "retraction",
                            "duplicate", "foreign_original"])  # fmt: skip
    code, out, _ = await _run(capsys, "list", "--unit", "14758", "--indicator", SATISFACTION, "--since", "2099-01-01",
                              "--json")  # fmt: skip
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "not-a-uuid"], "is not a UUID"),
        (["list", "--unit", "99999", "--indicator", SATISFACTION], "--unit 99999"),
        (["list", "--unit", "14758", "--indicator", "gov.nothing"], "--indicator gov.nothing"),
    ],
)
async def test_input_that_names_nothing_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await _run(capsys, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


async def test_an_unknown_event_is_said_so(db_settings: Settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DX_PG_DATABASE", db_settings.pg_database)
    code, _, err = await _run(capsys, "show", str(uuid.uuid4()))
    assert code == 1 and "was applied or refused" in err


async def test_an_operator_corrects_and_retracts_a_sources_event_and_is_recorded(
    isolated: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in settings_env(isolated).items():
        monkeypatch.setenv(name, value)
    typo = {**event(SATISFACTION, "14758", "2026-11-01T09:00:00+07:00", 3, 10), "source": "thue"}
    other = {**event(SATISFACTION, "14812", "2026-11-01T09:00:00+07:00", 1, 10), "source": "thue"}
    async with running(isolated):
        await send(isolated, [typo, other])
        await eventually(lambda: counted(isolated, 2, 0))
        code, out, err = await _run(capsys, "correct", typo["event_id"], "--source", "thue", "--operator", "lan",
                                    "--numerator", "7", "--denominator", "10")  # fmt: skip
        assert code == 0, err
        fixed = out.split()[2]
        code, _, err = await _run(capsys, "retract", other["event_id"], "--source", "thue", "--operator", "lan")
        assert code == 0, err
        await eventually(lambda: counted(isolated, 4, 0))
        code, _, err = await _run(capsys, "retract", typo["event_id"], "--source", "thue", "--operator", "lan")
        assert code == 2 and err.startswith("dx events retract: original_replaced:")  # amend the one in force
        code, _, err = await _run(capsys, "retract", typo["event_id"], "--source", "other", "--operator", "lan")
        assert code == 2 and "unknown_original" in err
    province = await current(isolated, SATISFACTION, "38")
    assert (province["numerator"], province["denominator"]) == (7, 10)
    code, out, _ = await _run(capsys, "show", fixed, "--json")
    steps = json.loads(out)["chains"]["thue"]
    assert [(s["event_id"], s["operator"]) for s in steps] == [(typo["event_id"], None), (fixed, "lan")]
