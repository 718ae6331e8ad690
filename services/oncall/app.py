"""HTTP side of the on-call receiver: Alertmanager's webhook, the page, the JSON list, the runbook."""

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from services.oncall import page
from services.oncall.notifications import from_webhook, one_line
from services.oncall.store import Store

log = logging.getLogger("oncall")
ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = (ROOT / "docs" / "runbook.md", ROOT / "README.md")  # the first that exists is served

router = APIRouter()


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@router.post("/alertmanager")
async def alertmanager(request: Request, body: dict[str, Any]) -> dict[str, str]:
    n = from_webhook(body)
    _store(request).add(n)
    log.warning("%s", one_line(n))
    return {"status": "ok"}


@router.post("/watchdog")
async def watchdog(request: Request) -> dict[str, str]:
    _store(request).heartbeat()
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> str:
    store = _store(request)
    return page.render(store.newest_first(), store.watchdog_at)


@router.get("/api/notifications")
async def notifications(request: Request) -> dict[str, Any]:
    store = _store(request)
    return {"watchdog_at": store.watchdog_at, "notifications": [asdict(n) for n in store.newest_first()]}


@router.get("/runbook", response_class=PlainTextResponse)
async def runbook() -> str:
    for path in RUNBOOKS:
        if path.exists():
            return path.read_text(encoding="utf-8")
    return "runbook: see the project's README"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
