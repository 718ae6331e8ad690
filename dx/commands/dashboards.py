"""`dx dashboards build [--check]`: regenerate the Grafana dashboards from code (services/dashboards)."""

import argparse
from pathlib import Path

from services.dashboards import build


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmds = sub.add_parser("dashboards", help="Grafana dashboards as code").add_subparsers(
        dest="dashboards_command", required=True
    )
    cmd = cmds.add_parser("build", help=f"write the dashboards to {build.OUTPUT_DIR.relative_to(build.ROOT)}/")
    cmd.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files are not up to date")
    cmd.add_argument("--output", type=Path, default=build.OUTPUT_DIR, help="folder of the dashboard files")
    cmd.set_defaults(handler=_build)


def _build(args: argparse.Namespace) -> int:
    if args.check:
        stale = build.stale(args.output)
        if stale:
            print(f"out of date in {args.output}: {', '.join(stale)} (run: dx dashboards build)")
            return 1
        print(f"dashboards are up to date ({len(build.BUILDERS)} files)")
        return 0
    changed = build.write(args.output)
    for path in changed:
        print(f"{'wrote' if path.exists() else 'removed'} {path}")
    print(f"{len(build.BUILDERS)} dashboards, {len(changed)} changed")
    return 0
