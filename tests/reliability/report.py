"""`python -m tests.reliability.report [results.jsonl]`: the figures of a reliability run as ONE JSON line; the
tests whose faults hit the three-node Kafka cluster are listed in `cluster_fault_tests` with their outcome."""

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


def summary(path: Path) -> dict[str, object]:
    totals = dict.fromkeys(KEYS, 0)
    cluster: dict[str, str] = {}
    if path.exists():
        for line in path.read_bytes().splitlines():
            if line.strip():
                row = orjson.loads(line)
                for key in KEYS:
                    totals[key] += int(row.get(key, 0))
                if row.get("cluster"):
                    cluster[row["test"].rsplit("::", 1)[-1]] = row.get("outcome", "unknown")
    return {**totals, "cluster_fault_tests": cluster}


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else RESULTS
    print(orjson.dumps(summary(path)).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
