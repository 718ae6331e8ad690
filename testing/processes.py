"""Service processes started with chosen settings and stopped or killed by PID (tests, benchmarks)."""

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path

import httpx

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settings_env(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment that reproduces `settings` in a child process (DX_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DX_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"DX_{name.upper()}"] = str(value)
    env.update(extra or {})
    return env


def http_ready(url: str) -> bool:
    """True when `url` answers with a status below 500."""
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not http_ready(url):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not ready after {timeout}s")
        time.sleep(0.1)


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


class ServiceProcess:
    """One `python -m services.<name>` process; `ready_url` answers < 500 once it is up."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        ready_url: str,
        extra_env: Mapping[str, str] | None = None,
        log_dir: Path = ROOT / ".run" / "logs" / "tests",
        nofile: int | None = None,
    ) -> None:
        self.name, self.settings, self.ready_url = name, settings, ready_url
        self.nofile = nofile  # the child's file-descriptor limit (RLIMIT_NOFILE), if not inherited
        self.extra_env: Mapping[str, str] = extra_env or {}
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def start(self, timeout: float = 60.0) -> "ServiceProcess":
        return self.launch().wait_ready(timeout)

    def launch(self) -> "ServiceProcess":
        """Start the process without waiting (so that several can start together)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"{self.name}-{os.getpid()}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                env=settings_env(self.settings, self.extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                preexec_fn=None if self.nofile is None else self._limit_files,
            )
        return self

    def _limit_files(self) -> None:
        assert self.nofile is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def wait_ready(self, timeout: float = 60.0) -> "ServiceProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if http_ready(self.ready_url):
                return self
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready at {self.ready_url} after {timeout}s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the process by PID and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the process and of its live child processes (the aggregator's decode worker)."""
        return sum(_alive_or_zero(rss_mb, pid) for pid in (self.pid, *self.children()))

    def cpu(self) -> float:
        """CPU seconds of the process and of its live child processes."""
        return sum(_alive_or_zero(cpu_seconds, pid) for pid in (self.pid, *self.children()))

    def children(self) -> list[int]:
        """PIDs of the process's live children (empty once it has exited)."""
        out: list[int] = []
        with suppress(OSError):
            for task in Path(f"/proc/{self.pid}/task").iterdir():
                with suppress(OSError):
                    out += [int(pid) for pid in (task / "children").read_text().split()]
        return out

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _alive_or_zero(measure: Callable[[int], float], pid: int) -> float:
    """`measure(pid)`, or 0 if the process has just exited."""
    try:
        return measure(pid)
    except OSError:
        return 0.0
