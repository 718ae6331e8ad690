"""The `dx` command explains operational failures in one line instead of a traceback."""

import pytest

from dx.main import main


def test_an_unreachable_database_is_reported_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DX_PG_PORT", "1")  # nothing listens on port 1
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dx: cannot reach a service") and "Traceback" not in err


def test_every_subcommand_is_registered() -> None:
    from dx.main import build_parser

    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices or {}  # type: ignore[union-attr]
    expected = {"config", "dashboards", "db", "dlq", "import", "simulate", "sources", "status", "topics"}
    assert expected <= set(choices)
