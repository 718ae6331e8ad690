"""`python -m bench.alerter_process`: the real alerter, with its consumer group taken from DX_BENCH_ALERTER_GROUP.

The alerter's group is the constant `names.GROUP_ALERTER`, shared by every alerter on the Kafka cluster whatever
its topics, so any alerter starting or stopping elsewhere (other test runs on the shared broker) stalls this one
for a rebalance of several seconds. Until the alerter has a group setting like the aggregator's
(DX_AGGREGATOR_GROUP), the benchmark runs it under a group of its own; nothing else changes.
"""

import os

from shared import names

names.GROUP_ALERTER = os.environ["DX_BENCH_ALERTER_GROUP"]  # type: ignore[misc]

from services.alerter.main import run  # noqa: E402  (after the group is set)

run()
