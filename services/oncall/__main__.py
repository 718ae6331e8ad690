"""`python -m services.oncall`: the on-call receiver (webhook, page, JSON list and SMTP inbox) in one process."""

import logging

import uvicorn

from services.oncall.main import create_app
from shared.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.oncall_host,
        port=settings.oncall_port,
        workers=1,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
