"""Service processes for the benchmark: `python -m services.<name>` with chosen settings; RSS and CPU from /proc."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / ".run" / "logs" / "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(settings: Settings, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment that reproduces `settings` (DX_* variables) in a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DX_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"DX_{name.upper()}"] = str(value)
    env.update(extra)
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int, key: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class Service:
    """One service process; `ready_url` answers < 500 once it is up."""

    def __init__(self, name: str, settings: Settings, ready_url: str, extra_env: Mapping[str, str]) -> None:
        self.name, self.settings, self.ready_url, self.extra_env = name, settings, ready_url, extra_env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = LOG_DIR / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log"

    def start(self, timeout: float = 60.0) -> "Service":
        return self.launch().wait_ready(timeout)

    def launch(self) -> "Service":
        """Start the process without waiting (so that several can start together)."""
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                env=child_env(self.settings, self.extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> "Service":
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.ready_url, timeout=1.0).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready at {self.ready_url}:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def peak_rss_mb(self) -> float:
        return rss_mb(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
