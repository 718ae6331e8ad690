"""Every `dx` command that talks to a service, run against closed ports, and `dx import` on each bad file: one line
on stderr naming the cause and the fix, exit 2, no traceback."""

from pathlib import Path

import pytest

from dx.main import main
from testing.processes import free_port

CSV = "indicator,unit,date,value\noverall.dti_rank,38,2023-12-31,11\n"


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every service setting points at a port nothing listens on."""
    ports = {name: free_port() for name in ("pg", "kafka", "collector", "prometheus", "alertmanager")}
    monkeypatch.setenv("DX_PG_PORT", str(ports["pg"]))
    monkeypatch.setenv("DX_KAFKA_BOOTSTRAP", f"127.0.0.1:{ports['kafka']}")
    monkeypatch.setenv("DX_COLLECTOR_HOST", "127.0.0.1")
    monkeypatch.setenv("DX_COLLECTOR_PORT", str(ports["collector"]))
    monkeypatch.setenv("DX_PROMETHEUS_URL", f"http://127.0.0.1:{ports['prometheus']}")
    monkeypatch.setenv("DX_ALERTMANAGER_URL", f"http://127.0.0.1:{ports['alertmanager']}")
    return ports


def one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


POSTGRES = [
    ["status"],
    ["db", "migrate"],
    ["sources", "list"],
    ["sources", "add", "cli-test"],
    ["sources", "revoke", "cli-test"],
    ["report", "--year", "2025"],
    ["import", "FILE"],  # without --token, the importer creates its source first
    ["simulate", "--duration", "1"],  # likewise
]
KAFKA = [["topics", "ensure"], ["dlq", "list"], ["dlq", "replay", "--all"]]
COLLECTOR = [["import", "FILE", "--token", "t"], ["simulate", "--duration", "1", "--token", "t"]]


@pytest.mark.parametrize("argv", POSTGRES, ids=" ".join)
def test_postgresql_unreachable(
    closed: dict[str, int], capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    line = one_line(capsys, _with_file(argv, tmp_path))
    assert line.startswith(f"dx {' '.join(argv[:2]) if argv[0] in ('db', 'sources') else argv[0]}: "), line
    assert f"cannot reach PostgreSQL at 127.0.0.1:{closed['pg']}" in line and "DX_PG_HOST / DX_PG_PORT" in line


@pytest.mark.parametrize("argv", KAFKA, ids=" ".join)
def test_kafka_unreachable(closed: dict[str, int], capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    line = one_line(capsys, argv)
    assert line.startswith(f"dx {' '.join(argv[:2])}: "), line
    assert f"cannot reach Kafka at 127.0.0.1:{closed['kafka']}" in line and "DX_KAFKA_BOOTSTRAP" in line


@pytest.mark.parametrize("argv", COLLECTOR, ids=" ".join)
def test_collector_unreachable(
    closed: dict[str, int], capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    line = one_line(capsys, _with_file(argv, tmp_path))
    assert f"cannot reach the collector at http://127.0.0.1:{closed['collector']}" in line, line
    assert "--collector-url" in line and "DX_COLLECTOR_PORT" in line


def test_a_host_that_resolves_only_inside_docker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DX_PG_HOST", "postgres.invalid")  # a reserved name: never resolves
    line = one_line(capsys, ["status"])
    assert "'postgres.invalid' does not resolve" in line and "set DX_PG_HOST" in line, line


def test_a_malformed_setting(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DX_PG_PORT", "fifty-four-thirty-two")
    line = one_line(capsys, ["status"])
    assert line.startswith("dx status: invalid setting DX_PG_PORT: "), line


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("ranks.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "save it as .xlsx or 'CSV UTF-8'"),
        ("ranks.csv", CSV.encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        ("ranks.csv", CSV.replace("value", "valeur").encode(), "missing column(s): value or numerator"),
        ("ranks.csv", "indicator;unit;date;value\nThanh Hóa;38;2023;1\n".encode("cp1252"), "save it as 'CSV UTF-8'"),
        ("ranks.csv", b"", "the file is empty"),
        ("ranks.json", b"[]", "unsupported file type '.json'"),
        ("missing.csv", None, "cannot use"),
    ],
)
def test_bad_import_files(
    closed: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    data: bytes | None,
    says: str,
) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    line = one_line(capsys, ["import", str(path), "--token", "t"])
    assert line.startswith("dx import: ") and says in line, line


def test_every_subcommand_is_registered() -> None:
    from dx.main import build_parser

    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices or {}  # type: ignore[union-attr]
    expected = {"config", "dashboards", "db", "dlq", "import", "simulate", "sources", "status", "topics"}
    assert expected <= set(choices)


def _with_file(argv: list[str], tmp_path: Path) -> list[str]:
    path = tmp_path / "ranks.csv"
    path.write_text(CSV, encoding="utf-8")
    return [str(path) if a == "FILE" else a for a in argv]
