"""Composition root: settings, the store, the FastAPI app and, in its lifespan, the SMTP inbox."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.oncall.app import router
from services.oncall.mail import start_smtp
from services.oncall.store import Store
from shared.settings import Settings

log = logging.getLogger("oncall")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = Store(settings.oncall_store_path)
        smtp = await start_smtp(app.state.store, settings.oncall_host, settings.oncall_smtp_port)
        log.info(
            "on-call receiver: http://%s:%d/ (webhook /alertmanager), SMTP %s:%d",
            settings.oncall_host,
            settings.oncall_port,
            settings.oncall_host,
            settings.oncall_smtp_port,
        )
        try:
            yield
        finally:
            smtp.close()
            await smtp.wait_closed()

    app = FastAPI(title="dxmon on-call receiver", version="1", lifespan=lifespan)
    app.include_router(router)
    return app
