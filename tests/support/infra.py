"""Private Kafka / PostgreSQL instances for fault tests, so a test may stop or kill them without
disturbing the shared stack. They use the project's own scripts with DX_RUN_DIR and other ports."""

import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.processes import ROOT, free_port
from tests.support.tls import Pki, make_pki

SCRIPTS = ROOT / "deploy" / "local"


@dataclass
class PrivateInstance:
    """One component (`kafka` or `postgres`) started from deploy/local/<component>.sh in its own run dir."""

    component: str
    run_dir: Path
    env: dict[str, str]
    port: int

    def _script(self, action: str) -> None:
        done = subprocess.run(
            [str(SCRIPTS / f"{self.component}.sh"), action],
            env=self.env,
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.component}.sh {action} failed:\n{done.stdout.decode(errors='replace')}")

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def kill(self) -> None:
        """SIGKILL the process by the PID our script recorded."""
        self._script("kill")

    @property
    def pid(self) -> int:
        text = (self.run_dir / "pids" / f"{self.component}.pid").read_text().split()
        return int(text[0])

    def signal(self, sig: int = signal.SIGSTOP) -> None:
        os.kill(self.pid, sig)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def _instance(component: str, port_vars: list[str], **extra_env: str) -> Iterator[PrivateInstance]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"dx-{component}-", dir="/var/tmp"))
    os.chmod(run_dir, 0o755)
    ports = {name: free_port() for name in port_vars}
    env = {**os.environ, "DX_RUN_DIR": str(run_dir), **{k: str(v) for k, v in ports.items()}, **extra_env}
    instance = PrivateInstance(component, run_dir, env, ports[port_vars[0]])
    instance.start()
    try:
        yield instance
    finally:
        subprocess.run(
            [str(SCRIPTS / f"{component}.sh"), "stop"],
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        subprocess.run(["rm", "-rf", str(run_dir)], check=False)


@pytest.fixture
def private_kafka() -> Iterator[PrivateInstance]:
    """A second Kafka broker on free ports that the test may stop, kill and start again."""
    yield from _instance("kafka", ["DX_KAFKA_PORT", "DX_KAFKA_CONTROLLER_PORT"])


@pytest.fixture
def private_postgres() -> Iterator[PrivateInstance]:
    """A second PostgreSQL cluster (roles and database created) that the test may stop, kill and start."""
    yield from _instance("postgres", ["DX_PG_PORT"])


@pytest.fixture
def pg_pki(tmp_path: Path) -> Pki:
    """A CA with a server certificate for 127.0.0.1 and a client certificate (CN dx-client)."""
    return make_pki(tmp_path / "pg-tls")


@pytest.fixture
def private_postgres_tls(pg_pki: Pki) -> Iterator[PrivateInstance]:
    """A second PostgreSQL cluster with ssl=on (certificates of `pg_pki`); plaintext connections still allowed."""
    yield from _instance("postgres", ["DX_PG_PORT"], DX_PG_TLS_DIR=str(pg_pki.ca.parent))
