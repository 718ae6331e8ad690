"""Notifications received, newest first: kept in memory (bounded) and, optionally, appended to a JSON-lines file."""

import json
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KEEP = 1000  # the page shows the last ones; the file, if configured, keeps them all


@dataclass(frozen=True)
class Notification:
    """One notification as a person reads it: from the webhook (one per alert group) or one e-mail."""

    channel: str  # "webhook" | "email"
    status: str  # "firing" | "resolved" (e-mail: taken from the subject when it says so)
    title: str
    body: str
    received_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    alerts: list[dict[str, Any]] = field(default_factory=list)


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self._items: deque[Notification] = deque(maxlen=KEEP)
        self._lock = threading.Lock()
        self._path = path
        self.watchdog_at: str | None = None
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._items.append(Notification(**json.loads(line)))

    def add(self, n: Notification) -> None:
        with self._lock:
            self._items.append(n)
            if self._path is not None:
                with self._path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(asdict(n), ensure_ascii=False) + "\n")

    def heartbeat(self) -> None:
        self.watchdog_at = datetime.now(UTC).isoformat(timespec="seconds")

    def newest_first(self) -> list[Notification]:
        with self._lock:
            return list(reversed(self._items))
