"""The three-node Kafka cluster of deploy/local/kafka-cluster.sh on free ports in a run dir of its own, for the
fault tests on replicated topics (replication 3, min.insync.replicas=2): a node can be killed, paused, wiped and
started again, and the cluster brought back to three in-sync replicas between tests."""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.adapters.kafka import client_kwargs
from shared.settings import Settings
from testing.processes import ROOT, free_port

SCRIPT = ROOT / "deploy" / "local" / "kafka-cluster.sh"
NODES = (1, 2, 3)


class KafkaCluster:
    def __init__(self) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix="dx-kafka-cluster-", dir="/var/tmp"))
        self.ports = [free_port() for _ in NODES]
        controller_ports = [free_port() for _ in NODES]
        self.env = {
            **os.environ,
            "DX_RUN_DIR": str(self.run_dir),
            "DX_KAFKA_CLUSTER_PORTS": " ".join(map(str, self.ports)),
            "DX_KAFKA_CLUSTER_CONTROLLER_PORTS": " ".join(map(str, controller_ports)),
        }
        self.paused: set[int] = set()

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def settings(self, base: Settings) -> Settings:
        """`base` pointed at the cluster, with the production durability settings."""
        return base.model_copy(
            update={"kafka_bootstrap": self.bootstrap, "kafka_replication_factor": 3, "kafka_min_insync_replicas": 2}
        )

    def script(self, *args: str) -> str:
        done = subprocess.run(
            [str(SCRIPT), *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240
        )
        out = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            raise RuntimeError(f"kafka-cluster.sh {' '.join(args)} failed:\n{out}")
        return out

    def start(self, node: int | None = None) -> None:
        self.script("start", *([str(node)] if node else []))

    def kill(self, node: int) -> None:
        """SIGKILL the node (its page cache survives, its process and sockets do not)."""
        self.script("kill", str(node))

    def pause(self, node: int) -> None:
        self.script("pause", str(node))
        self.paused.add(node)

    def resume(self, node: int) -> None:
        self.script("resume", str(node))
        self.paused.discard(node)

    def wipe(self, node: int) -> None:
        """Delete a stopped node's data (a lost disk) and reformat it with the same node and cluster id."""
        self.script("wipe", str(node))

    def running(self, node: int) -> bool:
        return f"kafka-node-{node}  running" in self.script("status")

    def pid(self, node: int) -> int:
        return int((self.run_dir / "pids" / f"kafka-node-{node}.pid").read_text().split()[0])

    def log_tail(self, node: int, chars: int = 4000) -> str:
        return (self.run_dir / "logs" / f"kafka-node-{node}.log").read_text(errors="replace")[-chars:]

    def heal(self) -> None:
        """Every node running and not paused (a test that failed half-way leaves the next one a whole cluster)."""
        for node in list(self.paused):
            self.resume(node)
        self.start()

    def stop(self) -> None:
        for node in list(self.paused):
            self.resume(node)
        try:
            self.script("stop")
        finally:
            shutil.rmtree(self.run_dir, ignore_errors=True)


async def describe(settings: Settings, topics: list[str], attempts: int = 40) -> list[dict[str, Any]]:
    """Topic metadata; retried, since the admin client asks a random known node, which may be the one just killed."""
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=5000)
        try:
            await admin.start()
            return list(await admin.describe_topics(topics))
        except KafkaError:
            if attempt == attempts - 1:
                raise
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def leaders(settings: Settings, topic: str) -> dict[int, int]:
    """partition → id of its leader node (-1 while it has none)."""
    [doc] = await describe(settings, [topic])
    return {p["partition"]: p["leader"] for p in doc["partitions"]}


async def in_sync(settings: Settings, topics: list[str]) -> dict[tuple[str, int], set[int]]:
    """(topic, partition) → the node ids of its in-sync replicas."""
    return {
        (t["topic"], p["partition"]): set(p["isr"]) for t in await describe(settings, topics) for p in t["partitions"]
    }


async def wait_in_sync(settings: Settings, topics: list[str], replicas: int = 3, timeout: float = 180.0) -> None:
    """Until every partition of `topics` has `replicas` in-sync replicas and a leader."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            docs = await describe(settings, topics)
            parts = [p for t in docs for p in t["partitions"]]
            last = [(p["partition"], p["leader"], p["isr"]) for p in parts]
            if parts and all(len(p["isr"]) >= replicas and p["leader"] >= 0 for p in parts):
                return
        except Exception as err:  # a node just restarted may refuse the first metadata requests
            last = err
        await asyncio.sleep(0.5)
    raise TimeoutError(f"not {replicas} in-sync replicas after {timeout}s: {last}")
