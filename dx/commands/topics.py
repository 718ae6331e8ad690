"""`dx topics ensure`: create the Kafka topics of docs/events-and-topics.md and verify the existing ones."""

import argparse
import asyncio
import sys

from shared.adapters.kafka import TopicsError, ensure_topics
from shared.settings import Settings


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    topics = sub.add_parser("topics", help="Kafka topics").add_subparsers(dest="topics_command", required=True)
    topics.add_parser("ensure", help="create missing topics").set_defaults(handler=_ensure)


def _ensure(args: argparse.Namespace) -> int:
    try:
        created = asyncio.run(ensure_topics(Settings()))
    except TopicsError as error:
        for problem in error.problems:
            print(f"dx: topic {problem}", file=sys.stderr)
        return 2
    print(f"created: {', '.join(created)}" if created else "topics exist")
    return 0
