"""`unread` (shared/adapters/lag.py): the one count of records a consumer has still to read, behind both the lag
metric and the aggregator's "is a backlog waiting" decision."""

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from prometheus_client import CollectorRegistry

from shared.adapters.lag import lag_gauge, record_position_lag, unread

A, B, C, D = (TopicPartition("dx.events.v1", p) for p in range(4))


class _Consumer:
    """What aiokafka reports per partition: high watermark, last stable offset, fetch position."""

    def __init__(self) -> None:
        self.high = {A: 120, B: 50, C: None, D: 10}
        self.stable = {A: 100, B: -1, C: None, D: 10}  # -1: B is read uncommitted
        self.positions = {A: 40, B: 45, C: 0}  # D was revoked meanwhile

    def assignment(self) -> set[TopicPartition]:
        return {A, B, C, D}

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.high[tp]

    def last_stable_offset(self, tp: TopicPartition) -> int | None:
        return self.stable[tp]

    async def position(self, tp: TopicPartition) -> int:
        if tp not in self.positions:
            raise IllegalStateError("not assigned")
        return self.positions[tp]


async def test_unread_counts_to_the_last_stable_offset_and_says_when_it_cannot_know() -> None:
    counts = {tp: n async for tp, n in unread(_Consumer())}
    assert counts == {A: 60, B: 5, C: None}  # A: up to its open transaction, not 80; D: revoked, left out


async def test_skipped_partitions_are_left_out() -> None:
    counts = {tp: n async for tp, n in unread(_Consumer(), skip={A, C})}
    assert counts == {B: 5}


async def test_the_lag_metric_is_set_for_partitions_fetched_from() -> None:
    registry = CollectorRegistry()
    gauge = lag_gauge(registry)
    await record_position_lag(gauge, "aggregator", _Consumer())
    series = {s.labels["partition"]: s.value for m in registry.collect() for s in m.samples}
    assert series == {"0": 60.0, "1": 5.0}
