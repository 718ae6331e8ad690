"""HTTP API (docs/http-api.md): POST /v1/events, /healthz, /readyz, /metrics. Handlers are thin: the work is in
`body`, `sources`, `ratelimit`, `intake` and `publisher`."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from services.collector.body import (
    BodyError,
    check_content_length,
    check_shape,
    count_objects,
    parse_events,
    read_limited,
)
from services.collector.intake import Intake
from services.collector.metrics import CollectorMetrics
from services.collector.publisher import Publisher, PublishError
from services.collector.ratelimit import RateLimiter
from services.collector.ready import PG_ERRORS, Readiness
from services.collector.settings import CollectorSettings
from services.collector.sources import AuthError, LookupDeferred, Sources
from shared.contracts.events import EventV1


@dataclass
class Deps:
    """What the handlers need; built in the lifespan (composition root: `main.py`)."""

    settings: CollectorSettings
    intake: Intake
    sources: Sources
    limiter: RateLimiter
    publisher: Publisher
    metrics: CollectorMetrics
    pool: asyncpg.Pool
    readiness: Readiness
    ingest_task: "asyncio.Task[None] | None" = None


class RejectionOut(BaseModel):
    index: int
    event_id: str | None
    errors: list[str]


class BatchOut(BaseModel):
    accepted: int
    rejected: list[RejectionOut]


class ErrorOut(BaseModel):
    error: str
    message: str


_EVENT_SCHEMA = EventV1.model_json_schema()
_EVENTS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "array", "items": _EVENT_SCHEMA, "maxItems": 1000},
                    {"type": "object", "properties": {"events": {"type": "array", "items": _EVENT_SCHEMA}}},
                ]
            }
        }
    },
}
_ERR = {"model": ErrorOut}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": BatchOut, "description": "at least one event accepted (acknowledged by Kafka)"},
    422: {"model": BatchOut, "description": "no event accepted"},
    400: {**_ERR, "description": "unparseable JSON or wrong body shape"},
    401: {**_ERR, "description": "missing, bad or revoked token"},
    413: {**_ERR, "description": "more than 1,000 events or 1 MiB"},
    429: {**_ERR, "description": "rate limited; see Retry-After"},
    503: {**_ERR, "description": "Kafka (or the credential store) unavailable: nothing was accepted"},
}

router = APIRouter()


def _json(status: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": error, "message": message}, headers)


@router.post("/v1/events", status_code=202, responses=_RESPONSES, openapi_extra={"requestBody": _EVENTS_BODY})
async def post_events(request: Request) -> Response:
    """Validate each event on its own; publish the valid ones; answer as docs/http-api.md says."""
    deps: Deps = request.app.state.deps
    try:
        source = await deps.sources.authenticate(request.headers.get("authorization"))
    except AuthError as err:
        return _error(401, "unauthorized", str(err), {"WWW-Authenticate": "Bearer"})
    except LookupDeferred as err:
        return _error(503, "unavailable", f"{err}; nothing was accepted", {"Retry-After": "1"})
    except PG_ERRORS:
        return _error(503, "unavailable", "the credential store is unavailable; nothing was accepted")
    limits = deps.settings
    try:
        check_content_length(request.headers.get("content-length"), limits.collector_max_body_bytes)
        async with asyncio.timeout(limits.collector_body_timeout_s):
            body = await read_limited(request.stream(), limits.collector_max_body_bytes)
        # the rate limit and the bounds come before parsing: a source pays for what it sends, parsed or not
        objects = count_objects(body)
        estimate = max(1, min(objects, limits.collector_max_events + 1))
        wait = deps.limiter.take(source.name, estimate)
        if wait:
            message = f"source {source.name} is over its rate limit; retry later"
            return _error(429, "rate_limited", message, {"Retry-After": RateLimiter.retry_after(wait)})
        check_shape(body, objects, limits.collector_max_events)
        items = parse_events(body, limits.collector_max_events)  # a refused body keeps the tokens it spent
        deps.limiter.give_back(source.name, estimate - len(items))
    except TimeoutError:
        message = f"the body did not arrive within {limits.collector_body_timeout_s:g} s"
        return _error(408, "body_timeout", message, {"Connection": "close"})
    except BodyError as err:
        return _json(err.status, err.as_json())
    checked = deps.intake.check_batch(items, source.name, source.scope, datetime.now(UTC))
    if checked.records:
        try:
            await deps.publisher.publish([(deps.settings.topic_events, r) for r in checked.records])
        except PublishError as err:
            deps.metrics.received.labels(source.name).inc(len(items))
            if not err.settled:  # the commit went unanswered: it may still complete
                return _error(
                    503, "kafka_outcome_unknown", f"{err}; the events may still count: retry (event_ids make it safe)"
                )
            return _error(503, "kafka_unavailable", f"{err}; nothing was accepted: retry (event_ids make it safe)")
    deps.metrics.count(source.name, len(items), len(checked.records), [r.reason for r in checked.rejected])
    doc = {"accepted": len(checked.records), "rejected": [r.as_json() for r in checked.rejected]}
    return _json(202 if checked.records else 422, doc)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """Kafka and PostgreSQL reachable at the last background check (and the ingest consumer running): 200, else
    503. No I/O on the request path (services/collector/ready.py)."""
    deps: Deps = request.app.state.deps
    checks = dict(deps.readiness.checks)
    if deps.ingest_task is not None:
        checks["ingest"] = not deps.ingest_task.done()
    return _json(200 if all(checks.values()) else 503, checks)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    deps: Deps = request.app.state.deps
    return Response(generate_latest(deps.metrics.registry), media_type=CONTENT_TYPE_LATEST)
