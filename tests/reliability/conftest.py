"""Fixtures of the reliability suite: `tally` records what each test tried and survived (summed by `report.py`)."""

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
import pytest

from testing.processes import ROOT

RESULTS = Path(os.environ.get("DX_RELIABILITY_RESULTS", ROOT / ".run" / "reliability" / "results.jsonl"))


@dataclass
class Tally:
    """The figures of one test; written as one JSON line when the test ends (failed tests too)."""

    fault_tests: int = 0
    faults_survived: int = 0
    bad_inputs_tried: int = 0
    bad_inputs_handled: int = 0
    events_acknowledged: int = 0
    events_lost: int = 0
    events_double_counted: int = 0

    def fault(self) -> None:
        """A fault was injected (counted as survived only by `survived()` after the reconciliation)."""
        self.fault_tests += 1

    def survived(self, n: int | None = None) -> None:
        self.faults_survived += self.fault_tests - self.faults_survived if n is None else n

    def bad_input(self, handled: bool) -> bool:
        self.bad_inputs_tried += 1
        self.bad_inputs_handled += int(handled)
        return handled


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    t = Tally()
    yield t
    if any(asdict(t).values()):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("ab") as out:
            out.write(orjson.dumps({"test": request.node.nodeid, **asdict(t)}) + b"\n")
