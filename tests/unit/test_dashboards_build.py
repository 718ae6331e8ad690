"""`dx dashboards build` writes deterministic files; `--check` fails when the committed files are stale."""

import json
from pathlib import Path

import pytest

from dx.main import main
from services.dashboards.build import OUTPUT_DIR, build_all, rendered


def test_committed_dashboards_are_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "build", "--check"]) == 0, capsys.readouterr().out


def test_build_is_deterministic_sorted_two_space_indented_with_a_trailing_newline() -> None:
    first, second = rendered(), rendered()
    assert first == second
    for name, text in first.items():
        assert text.endswith("}\n") and not text.endswith("\n\n")
        data = json.loads(text)
        assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert data == build_all()[name]


def test_build_writes_the_files_and_check_detects_a_change(tmp_path: Path) -> None:
    assert main(["dashboards", "build", "--output", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.json")) == sorted(p.name for p in OUTPUT_DIR.glob("*.json"))
    assert main(["dashboards", "build", "--check", "--output", str(tmp_path)]) == 0

    edited = tmp_path / "dx-overview.json"
    edited.write_text(edited.read_text().replace("Tổng quan", "Tong quan"))
    assert main(["dashboards", "build", "--check", "--output", str(tmp_path)]) == 1

    (tmp_path / "dx-old.json").write_text("{}\n")
    assert main(["dashboards", "build", "--output", str(tmp_path)]) == 0
    assert not (tmp_path / "dx-old.json").exists()
    assert main(["dashboards", "build", "--check", "--output", str(tmp_path)]) == 0


def test_check_fails_when_a_file_is_missing(tmp_path: Path) -> None:
    assert main(["dashboards", "build", "--output", str(tmp_path)]) == 0
    (tmp_path / "dx-units.json").unlink()
    assert main(["dashboards", "build", "--check", "--output", str(tmp_path)]) == 1
