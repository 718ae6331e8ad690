"""`python -m tests.reliability.report [results.jsonl]`: the figures of a reliability run as ONE JSON line."""

import sys
from pathlib import Path

import orjson

from tests.reliability.conftest import RESULTS

KEYS = (
    "faults_survived",
    "fault_tests",
    "bad_inputs_tried",
    "bad_inputs_handled",
    "events_acknowledged",
    "events_lost",
    "events_double_counted",
)


def summary(path: Path) -> dict[str, int]:
    totals = dict.fromkeys(KEYS, 0)
    if path.exists():
        for line in path.read_bytes().splitlines():
            if line.strip():
                row = orjson.loads(line)
                for key in KEYS:
                    totals[key] += int(row.get(key, 0))
    return totals


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else RESULTS
    print(orjson.dumps(summary(path)).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
