"""The JSON line of `make reliability`: totals summed over the tests, the three-node cluster's tests by outcome."""

from pathlib import Path

import orjson

from tests.reliability.report import summary


def test_totals_are_summed_and_cluster_tests_listed_with_their_outcome(tmp_path: Path) -> None:
    rows = [
        {"test": "tests/reliability/a.py::test_one", "outcome": "passed", "fault_tests": 1, "faults_survived": 1,
         "events_acknowledged": 800, "cluster": False},
        {"test": "tests/reliability/c.py::test_leader", "outcome": "passed", "fault_tests": 1, "faults_survived": 1,
         "events_acknowledged": 1200, "cluster": True},
        {"test": "tests/reliability/c.py::test_two", "outcome": "failed", "fault_tests": 2, "faults_survived": 0,
         "events_acknowledged": 40, "events_lost": 3, "cluster": True},
    ]  # fmt: skip
    path = tmp_path / "results.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows) + b"\n")
    got = summary(path)
    assert got["fault_tests"] == 4 and got["faults_survived"] == 2
    assert got["events_acknowledged"] == 2040 and got["events_lost"] == 3 and got["events_double_counted"] == 0
    assert got["cluster_fault_tests"] == {"test_leader": "passed", "test_two": "failed"}


def test_no_results_file_gives_zeros_and_no_cluster_tests(tmp_path: Path) -> None:
    got = summary(tmp_path / "missing.jsonl")
    assert got["cluster_fault_tests"] == {} and got["events_lost"] == 0


def test_hostile_inputs_count_once_per_class_and_bytes_across_tests(tmp_path: Path) -> None:
    rows = [
        {"test": "a::t1", "bad_inputs_tried": 5, "bad_inputs_handled": 5,
         "hostile_inputs": {"http.unknown_unit": {"d1": True, "d2": True}, "cli.bad_name": {"d9": True}}},
        {"test": "b::t2", "hostile_inputs": {"http.unknown_unit": {"d2": False, "d3": True}}},
    ]  # fmt: skip
    path = tmp_path / "results.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    got = summary(path)
    assert (got["bad_inputs_tried"], got["bad_inputs_handled"]) == (4, 3)  # d2 counted once, failed once
    assert got["bad_input_classes"] == {"cli.bad_name": 1, "http.unknown_unit": 3}
    assert (got["loose_bad_input_checks"], got["loose_bad_input_checks_handled"]) == (5, 5)
