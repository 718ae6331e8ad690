"""`dx simulate`: arguments and the progress display; the job is dx/simulate.py."""

import argparse
import asyncio
from datetime import date

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from dx.context import load_context
from dx.sending import Summary
from dx.simulate import SimulateOptions, simulate


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = sub.add_parser(
        "simulate",
        help="simulated source-system traffic through the HTTP API",
        description=(
            "Sends realistic events for every unit in force: snapshots per commune, one event per survey answer "
            "or inspection, yearly province values. With --history, first replays history from that date to now "
            "(the hierarchy in force at each simulated date decides the units), then sends live traffic for "
            "--duration seconds. Unless --token is given, uses a source 'simulator' created for the run (scoped to the "
            "catalog in the province, leased, revoked when the run ends)."
        ),
    )
    cmd.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="EVENTS_PER_S",
        help="events per second (default: live 50; history as fast as the collector accepts)",
    )
    cmd.add_argument(
        "--duration",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds of live traffic after any history (default 60; 0 = none; inf = until Ctrl-C)",
    )
    cmd.add_argument("--batch", type=int, default=500, metavar="N", help="events per request (1–1000, default 500)")
    cmd.add_argument(
        "--history",
        type=date.fromisoformat,
        default=None,
        metavar="FROM",
        help="replay history from this date (YYYY-MM-DD, e.g. 2021-01-01) to now first",
    )
    cmd.add_argument("--seed", type=int, default=0, help="random seed: the same seed sends the same history")
    cmd.add_argument("--collector-url", default=None, help="default: http://DX_COLLECTOR_HOST:DX_COLLECTOR_PORT")
    cmd.add_argument("--token", default=None, help="use this source token instead of creating a source")
    cmd.set_defaults(handler=_simulate)  # fmt: skip


def _simulate(args: argparse.Namespace) -> int:
    if not 1 <= args.batch <= 1000:
        print("dx simulate: --batch must be between 1 and 1000")
        return 2
    if args.rate is not None and args.rate <= 0:
        print("dx simulate: --rate must be positive")
        return 2
    ctx = load_context()
    url = args.collector_url or f"http://{ctx.settings.collector_host}:{ctx.settings.collector_port}"
    options = SimulateOptions(
        collector_url=url,
        token=args.token,
        seed=args.seed,
        rate=args.rate,
        duration=args.duration,
        batch=args.batch,
        history=args.history,
    )
    summary = Summary()
    code = 0
    try:
        with _progress() as progress:
            asyncio.run(simulate(ctx.settings, ctx.catalog, ctx.hierarchy, options, summary, RichWatcher(progress)))
    except KeyboardInterrupt:
        print("interrupted")
        code = 130
    print("\n".join(summary.lines()))
    return code


class RichWatcher:
    """A progress bar per phase (history, live) with the accepted/rejected tally."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def source_created(self, name: str) -> None:
        self.progress.console.print(f"created source {name!r} for this run (scoped; revoked when the run ends)")

    def phase(self, name: str, total: float | None) -> None:
        self.task = self.progress.add_task(name, total=total, status="")

    def advance(self, completed: float, status: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=completed, status=status)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    )
