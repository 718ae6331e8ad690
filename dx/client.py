"""A small client of the collector's `POST /v1/events` (docs/http-api.md) with retries on 503/429.

Retrying is safe because event_ids make a re-sent event count once. 401/400/413 are not retried: they
will not get better by waiting.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class CollectorError(Exception):
    """The collector refused the whole request (bad token, malformed body, too large) or never answered."""


@dataclass
class BatchResult:
    """What the collector answered for one batch: accepted count and per-item rejections (index, errors)."""

    accepted: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0


class CollectorClient:
    """Posts batches of events with a bearer token; `sleep` is injectable so tests need not wait."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        max_attempts: int = 8,
        backoff: float = 0.25,
        max_backoff: float = 10.0,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self.max_attempts, self.backoff, self.max_backoff, self.sleep = max_attempts, backoff, max_backoff, sleep

    async def __aenter__(self) -> "CollectorClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def post(self, events: Sequence[dict[str, Any]]) -> BatchResult:
        """Send one batch (≤ 1,000 events); retries 429/5xx and connection errors with exponential backoff."""
        body = orjson.dumps(list(events))
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await self._http.post("/v1/events", content=body)
            except httpx.TransportError as err:
                if attempt == self.max_attempts:
                    raise CollectorError(f"collector unreachable: {err!r}") from err
                await self.sleep(self._delay(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.max_attempts:
                await self.sleep(self._delay(attempt, response.headers.get("Retry-After")))
                continue
            return self._result(response, attempt - 1)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(self.max_backoff, float(retry_after))
            except ValueError:
                pass
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2))

    @staticmethod
    def _result(response: httpx.Response, retries: int) -> BatchResult:
        if response.status_code in (202, 422):
            doc = response.json()
            return BatchResult(int(doc.get("accepted", 0)), list(doc.get("rejected", [])), retries)
        detail = response.text[:300]
        raise CollectorError(f"collector answered {response.status_code}: {detail}")
