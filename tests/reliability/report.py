"""`python -m tests.reliability.report [results.jsonl]`: the figures of a reliability run as ONE JSON line; the
tests whose faults hit the three-node Kafka cluster are listed in `cluster_fault_tests` with their outcome."""

import sys
from pathlib import Path

import orjson

from tests.reliability.conftest import RESULTS

KEYS = ("faults_survived", "fault_tests", "events_acknowledged", "events_lost", "events_double_counted")
LOOSE = {"bad_inputs_tried": "loose_bad_input_checks", "bad_inputs_handled": "loose_bad_input_checks_handled"}


def summary(path: Path) -> dict[str, object]:
    """Totals; `bad_inputs_tried` counts distinct hostile inputs (by class and bytes, over every test), each checked
    against its exact expected answer, `bad_inputs_handled` those answered so every time, `bad_input_classes` the
    distinct inputs per class. Looser checks (`Tally.bad_input`) are summed apart."""
    totals = dict.fromkeys([*KEYS, *LOOSE.values()], 0)
    cluster: dict[str, str] = {}
    hostile: dict[str, dict[str, bool]] = {}
    if path.exists():
        for line in path.read_bytes().splitlines():
            if line.strip():
                row = orjson.loads(line)
                for key in KEYS:
                    totals[key] += int(row.get(key, 0))
                for key, name in LOOSE.items():
                    totals[name] += int(row.get(key, 0))
                for cls, inputs in row.get("hostile_inputs", {}).items():
                    seen = hostile.setdefault(cls, {})
                    for digest, handled in inputs.items():
                        seen[digest] = seen.get(digest, True) and bool(handled)
                if row.get("cluster"):
                    cluster[row["test"].rsplit("::", 1)[-1]] = row.get("outcome", "unknown")
    distinct = {"bad_inputs_tried": sum(len(v) for v in hostile.values()),
                "bad_inputs_handled": sum(sum(v.values()) for v in hostile.values()),
                "bad_input_classes": {cls: len(v) for cls, v in sorted(hostile.items())}}  # fmt: skip
    return {**totals, **distinct, "cluster_fault_tests": cluster}


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else RESULTS
    print(orjson.dumps(summary(path)).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
