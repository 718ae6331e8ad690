"""The repository tracks no local state: a committed `.venv` symlink (ignored as `.venv/` only when it is a folder)
replaced a fresh clone's virtual environment with a link to another machine's path and broke `make install`."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL_STATE = (".venv", ".run", ".cache", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis")


def test_no_local_state_is_tracked() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    bad = [p for p in tracked.splitlines() if p.split("/")[0] in LOCAL_STATE]
    assert bad == []
