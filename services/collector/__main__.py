"""`python -m services.collector`: the HTTP API and the ingest consumer in one uvicorn process (one worker), its
connections guarded by services/collector/edge.py."""

import logging

import uvicorn

from services.collector.edge import ACCEPT_BACKLOG, EdgeLimits, connection_cap, guarded_protocol
from services.collector.main import create_app
from services.collector.settings import CollectorSettings


def main() -> None:
    settings = CollectorSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    cap = connection_cap(settings.collector_max_connections)
    uvicorn.run(
        create_app(settings),
        host=settings.collector_host,
        port=settings.collector_port,
        workers=1,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=guarded_protocol(EdgeLimits(settings.collector_header_timeout_s, cap)),
        backlog=ACCEPT_BACKLOG,
        limit_concurrency=cap + 1,  # the cap above is the limit; uvicorn's 503 is only a backstop
        timeout_keep_alive=settings.collector_keepalive_timeout_s,
    )


if __name__ == "__main__":
    main()
