"""Composition root of the alerter: `main()` wires settings, logging and signals; `run(settings, stop)` runs.

`run` opens the pool, the FastStream broker (subscriber of dx.rollups.v1, publisher of dx.alerts.v1,
services/alerter/kafka.py) and /metrics, then runs the periodic evaluation, the leader loop and the LISTEN
connection (reopened when lost: services/alerter/listener.py) until `stop` is set or a loop fails.
"""

import asyncio
import contextlib
import logging
from typing import Any

from services.alerter.alertmanager import Alertmanager
from services.alerter.clock import Clock, OffsetClock, SystemClock
from services.alerter.kafka import alerts_publisher, build_broker, subscribe_rollups
from services.alerter.listener import Listener
from services.alerter.metrics import build_metrics
from services.alerter.service import Alerter
from services.alerter.settings import AlerterSettings
from shared import names
from shared.adapters.backlog import BacklogProbe
from shared.adapters.lag import GroupLagProbe
from shared.adapters.lifecycle import run_until_signalled
from shared.adapters.metrics import serve_metrics
from shared.adapters.postgres import create_pool
from shared.contracts.topics import CHANNEL_ALERTER
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy

log = logging.getLogger("dxmon.alerter")


async def run(settings: AlerterSettings, stop: asyncio.Event, clock: Clock | None = None) -> None:
    """Evaluate and alert until `stop` is set; SystemExit(1) if a loop failed."""
    if clock is None:
        clock = OffsetClock(settings.alerter_clock_start) if settings.alerter_clock_start else SystemClock()
    catalog, hierarchy = load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir)
    metrics = build_metrics(settings.metrics_levels)
    broker = build_broker(settings, metrics.registry)
    sink = Alertmanager(settings.alertmanager_url)
    pool = await create_pool(settings, "alerter")
    alerter = Alerter(settings, catalog, hierarchy, pool, sink, alerts_publisher(broker, settings), metrics, clock)
    subscribe_rollups(broker, settings, alerter)
    tasks: list[asyncio.Task[None]] = []
    failed: list[asyncio.Task[None]] = []
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(pool.close)
        stack.push_async_callback(sink.close)
        await broker.connect()  # the publisher; the subscriber joins its group below, beside the loops
        stack.push_async_callback(broker.stop)
        listener = Listener(settings, CHANNEL_ALERTER, alerter.on_notify, alerter.reconcile_all_soon)
        server = await serve_metrics(metrics.registry, settings.alerter_metrics_host, settings.alerter_metrics_port)
        stack.callback(server.close)
        log.info("alerter %s up; metrics on %s:%d", alerter.holder, settings.alerter_metrics_host,
                 settings.alerter_metrics_port)  # fmt: skip
        # Joining the consumer group can wait for a dead member's session to expire (10 s): the leader loop must
        # not wait for it, or a killed leader's alerts expire in Alertmanager before a successor re-sends them.
        lag = GroupLagProbe(
            settings, names.GROUP_ALERTER, settings.topic_rollups, metrics.lag, settings.alerter_lag_interval_seconds
        )
        backlog = BacklogProbe(settings, settings.aggregator_group, settings.topic_events, pool, metrics.backlog,
                               settings.alerter_lag_interval_seconds)  # fmt: skip
        alerter.backlog = lambda: backlog.messages
        loops = (alerter.evaluation_loop(), alerter.leader_loop(), broker.start(), lag.run(), listener.run(),
                 backlog.run())  # fmt: skip
        tasks = [asyncio.create_task(c) for c in loops]
        starting = tasks[2]
        waiter = asyncio.create_task(stop.wait())
        pending: set[asyncio.Task[Any]] = {waiter, *tasks}
        while True:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if done == {starting} and starting.exception() is None:
                continue  # subscribed; keep running
            break
        waiter.cancel()
        failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
        for task in failed:
            log.error("alerter loop failed, stopping", exc_info=task.exception())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await alerter.release()  # hand over at once rather than after the lease expires
    if failed:
        raise SystemExit(1)


def main() -> None:
    run_until_signalled(run, AlerterSettings())
