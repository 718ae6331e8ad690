"""What the figures were measured on."""

import os
import platform
import re
import subprocess
from pathlib import Path

import asyncpg

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


async def describe(settings: Settings) -> dict[str, object]:
    conn = await asyncpg.connect(settings.pg_dsn("app"))
    try:
        postgres = await conn.fetchval("SHOW server_version")
        synchronous_commit = await conn.fetchval("SHOW synchronous_commit")
    finally:
        await conn.close()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(_mem_kb() / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kafka": _kafka_version(),
        "postgres": postgres,
        "postgres_synchronous_commit": synchronous_commit,
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "commit": _commit(),
    }


def _commit() -> str:
    """The code measured: HEAD, marked dirty when the working tree differs."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "services", "shared"], cwd=ROOT,
                               capture_output=True, text=True)  # fmt: skip
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _kafka_version() -> str:
    """The version the local stack runs (deploy/local/kafka.sh)."""
    script = ROOT / "deploy" / "local" / "kafka.sh"
    found = re.search(r"^KAFKA_VERSION=(\S+)", script.read_text(), re.M) if script.exists() else None
    return found.group(1) if found else "unknown"
