"""Where batches are prepared (decoded, staged, summed): in a worker process by default, so that this CPU work runs
on another core than the consumer, its transactions and its notifications; or in the consumer's own process.

A worker that dies (killed, out of memory) is replaced; the batch it held is prepared in-process, so it is neither
lost nor skipped. The worker ignores SIGINT (the parent's shutdown stops it) and exits within a second of its
parent's death, even a SIGKILL (a spawned worker holds both ends of its task queue, so it would never see EOF).
"""

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from services.aggregator.decode import Decoder
from services.aggregator.prepare import Part, Prepared, prepare
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy

log = logging.getLogger("dxmon.aggregator")

_worker_decoder: Decoder | None = None  # the worker process's own (its catalog and hierarchy, loaded once)


def _init_worker(catalog_path: Path | None, units_dir: Path | None) -> None:
    global _worker_decoder
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _worker_decoder = Decoder(load_catalog(catalog_path), load_hierarchy(units_dir))


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _prepare_in_worker(parts: list[Part]) -> Prepared:
    assert _worker_decoder is not None, "worker not initialised"
    return prepare(_worker_decoder, parts)


def _ready() -> bool:
    return _worker_decoder is not None


class Preparer:
    """`await preparer(parts)`: the batch prepared by the worker process, or in-process without one."""

    def __init__(self, decoder: Decoder, catalog_path: Path | None, units_dir: Path | None, in_worker: bool) -> None:
        self.decoder, self.catalog_path, self.units_dir, self.in_worker = decoder, catalog_path, units_dir, in_worker
        self.pool: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        """Spawn the worker now (not on the first batch) and wait until it has loaded the reference data."""
        if self.in_worker:
            self.pool = self._new_pool()
            await asyncio.get_running_loop().run_in_executor(self.pool, _ready)

    async def __call__(self, parts: list[Part]) -> Prepared:
        if self.pool is None:
            return prepare(self.decoder, parts)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, _prepare_in_worker, parts)
        except BrokenProcessPool:
            log.error("the decode worker died; starting another, this batch is prepared in-process")
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            return prepare(self.decoder, parts)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,  # one batch is prepared at a time (the loop is pipelined one deep)
            mp_context=multiprocessing.get_context("spawn"),  # never fork a process running an event loop
            initializer=_init_worker,
            initargs=(self.catalog_path, self.units_dir),
        )
