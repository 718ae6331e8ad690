"""Fixtures of the reliability suite: `tally` records what each test tried and survived (summed by `report.py`);
`kafka_cluster` is the three-node cluster of deploy/local/kafka-cluster.sh, `cluster_isolated` a fresh database and
fresh topics replicated three times on it."""

import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
import pytest

from shared.settings import Settings
from testing.processes import ROOT, settings_env
from testing.sandbox import TOPIC_FIELDS, create_topics, delete_topics
from tests.support.cluster import KafkaCluster, wait_in_sync

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
    cluster: bool = False  # the faults hit the three-node cluster (report.py lists these tests with their outcome)
    # class → {digest of the input's bytes: its answer was exactly the one expected}; report.py counts these
    hostile_inputs: dict[str, dict[str, bool]] = field(default_factory=dict)

    def fault(self) -> None:
        """A fault was injected (counted as survived only by `survived()` after the reconciliation)."""
        self.fault_tests += 1

    def survived(self, n: int | None = None) -> None:
        self.faults_survived += self.fault_tests - self.faults_survived if n is None else n

    def bad_input(self, handled: bool) -> bool:
        """A hostile input checked loosely (any 4xx, some reason): reported apart as `loose_bad_input_checks`."""
        self.bad_inputs_tried += 1
        self.bad_inputs_handled += int(handled)
        return handled

    def hostile(self, cls: str, sent: bytes | str, expected: object, got: object) -> bool:
        """One distinct hostile input of class `cls` (the same bytes count once) and whether the answer `got` was
        exactly the `expected` one (a status and reason, a dead-letter reason, an exit code and message)."""
        raw = sent.encode() if isinstance(sent, str) else sent
        digest = hashlib.sha256(cls.encode() + b"\0" + raw).hexdigest()[:20]
        handled = got == expected
        seen = self.hostile_inputs.setdefault(cls, {})
        seen[digest] = seen.get(digest, True) and handled
        return handled


OUTCOMES = pytest.StashKey[dict[str, str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so that `tally` can write the test's outcome."""
    report = yield
    item.stash.setdefault(OUTCOMES, {})[report.when] = report.outcome
    return report


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    t = Tally()
    yield t
    if any(asdict(t).values()):
        phases = request.node.stash.get(OUTCOMES, {})
        outcome = "failed" if "failed" in phases.values() else phases.get("call", "not run")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("ab") as out:
            out.write(orjson.dumps({"test": request.node.nodeid, "outcome": outcome, **asdict(t)}) + b"\n")


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[KafkaCluster]:
    """Three nodes on free ports, started once for the session; the default topics created by `dx topics ensure`
    with replication 3 and min.insync.replicas=2."""
    cluster = KafkaCluster()
    try:
        cluster.start()
        env = settings_env(cluster.settings(Settings()))
        dx = Path(sys.executable).parent / "dx"
        subprocess.run([str(dx), "topics", "ensure"], env=env, check=True, capture_output=True, timeout=120)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def cluster_isolated(db_settings: Settings, kafka_cluster: KafkaCluster) -> AsyncIterator[Settings]:
    """A fresh database and fresh topics on the three-node cluster, every partition with three in-sync replicas."""
    kafka_cluster.heal()
    fresh = await create_topics(kafka_cluster.settings(db_settings))
    await wait_in_sync(fresh, [getattr(fresh, f) for f in TOPIC_FIELDS])
    yield fresh
    kafka_cluster.heal()
    await delete_topics(fresh)
