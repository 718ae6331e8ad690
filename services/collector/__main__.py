"""`python -m services.collector`: the HTTP API and the ingest consumer in one uvicorn process (one worker)."""

import logging

import uvicorn

from services.collector.main import create_app
from services.collector.settings import CollectorSettings


def main() -> None:
    settings = CollectorSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.collector_host,
        port=settings.collector_port,
        workers=1,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
