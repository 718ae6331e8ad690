"""Alertmanager API v2: POST /api/v2/alerts."""

from typing import Protocol

import httpx

from services.alerter.rules import Tracked, to_alertmanager


class AlertSink(Protocol):
    async def send(self, alerts: list[Tracked]) -> None: ...


class Alertmanager:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def send(self, alerts: list[Tracked]) -> None:
        """Raise unless Alertmanager took every alert (the caller's transaction then rolls back)."""
        for i in range(0, len(alerts), 500):
            response = await self._client.post("/api/v2/alerts", json=[to_alertmanager(a) for a in alerts[i : i + 500]])
            response.raise_for_status()

    async def close(self) -> None:
        await self._client.aclose()
