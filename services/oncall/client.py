"""For `dx oncall list` and scripts: the notifications an on-call receiver holds, newest first."""

from typing import Any

import httpx

from shared.settings import Settings


def list_notifications(settings: Settings | None = None, timeout: float = 5.0) -> list[dict[str, Any]]:
    """GET /api/notifications of the receiver the settings name (DX_ONCALL_HOST, DX_ONCALL_PORT)."""
    s = settings or Settings()
    host = "127.0.0.1" if s.oncall_host in ("0.0.0.0", "") else s.oncall_host
    response = httpx.get(f"http://{host}:{s.oncall_port}/api/notifications", timeout=timeout)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["notifications"]
    return items
