"""`dx topics ensure` against the real broker: a refused topic or an existing topic that drifted from its spec is a
loud failure (one line per problem, exit 2), never "created"."""

import uuid
from typing import Any, cast

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from dx.main import main
from shared.adapters.kafka import TopicsError, TopicSpec, client_kwargs, ensure_topics, topic_drift
from shared.settings import Settings


async def _create_plain_topic(settings: Settings, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


async def _delete(settings: Settings, *names: str) -> None:
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.delete_topics([n for n in names if n in existing])
    finally:
        await admin.close()


def test_a_topic_matching_its_spec_has_no_drift() -> None:
    spec = TopicSpec("t", 6, {"cleanup.policy": "compact", "min.insync.replicas": "2"})
    configs = {"cleanup.policy": "compact", "min.insync.replicas": "2", "unclean.leader.election.enable": "false"}
    assert topic_drift(spec, 3, 6, 3, configs) == []
    assert topic_drift(spec, 3, 12, 3, configs) == []  # more partitions: a deliberate scale-out


def test_every_kind_of_drift_is_named() -> None:
    spec = TopicSpec("dx.rollups.v1", 6, {"cleanup.policy": "compact", "min.insync.replicas": "2"})
    problems = topic_drift(spec, 3, 1, 1, {"cleanup.policy": "delete", "min.insync.replicas": "1"})
    assert problems == [
        "dx.rollups.v1: 1 partitions, expected at least 6",
        "dx.rollups.v1: replication factor 1, expected 3",
        "dx.rollups.v1: cleanup.policy=delete, expected compact",
        "dx.rollups.v1: min.insync.replicas=1, expected 2",
    ]


async def test_a_topic_the_broker_refuses_is_an_error_not_created(settings: Settings) -> None:
    name = f"dxt-refused-{uuid.uuid4().hex[:8]}"
    three = settings.model_copy(update={"kafka_replication_factor": 3})  # one broker cannot hold three replicas
    with pytest.raises(TopicsError) as raised:
        await ensure_topics(three, [TopicSpec(name, 1, {"min.insync.replicas": "1"})])
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(f"{name}: refused by the broker: ")
    assert "replication factor" in raised.value.problems[0]


async def test_an_uncompacted_rollups_topic_with_one_partition_is_reported(settings: Settings) -> None:
    name = f"dxt-drift-{uuid.uuid4().hex[:8]}"
    await _create_plain_topic(settings, name, 1)  # what an auto-creating subscriber would have made
    try:
        await _drift_reported(settings, name)
    finally:
        await _delete(settings, name)


async def _drift_reported(settings: Settings, name: str) -> None:
    """ensure_topics refuses a plain one-partition topic `name` where a compacted six-partition one is wanted."""
    with pytest.raises(TopicsError) as raised:
        await ensure_topics(settings, [TopicSpec(name, 6, {"cleanup.policy": "compact"})])
    assert raised.value.problems == [
        f"{name}: 1 partitions, expected at least 6",
        f"{name}: cleanup.policy=delete, expected compact",
    ]


async def test_dx_topics_ensure_exits_2_with_one_line_per_problem(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    rollups = f"dx.rollups.v1.{suffix}"
    await _create_plain_topic(settings, rollups, 6)
    names = {f"DX_TOPIC_{t.upper()}": f"dx.{t}.v1.{suffix}" for t in ("ingest", "events", "deadletter", "alerts")}
    for key, value in {**names, "DX_TOPIC_ROLLUPS": rollups}.items():
        monkeypatch.setenv(key, value)
    try:
        code = await _run_cli()
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2
        assert err == [f"dx: topic {rollups}: cleanup.policy=delete, expected compact"]
    finally:
        await _delete(settings, rollups, *names.values())


async def _run_cli() -> int:
    """`main` runs its own event loop: call it from a worker thread."""
    import asyncio

    return await asyncio.to_thread(main, ["topics", "ensure"])


async def test_new_topics_have_their_leaders_when_ensure_returns() -> None:
    settings = Settings()
    name = f"dx.test.leaders-{uuid.uuid4().hex[:8]}"
    try:
        assert await ensure_topics(settings, [TopicSpec(name, 6, {})]) == [name]
        admin = AIOKafkaAdminClient(**client_kwargs(settings))
        await admin.start()
        try:
            (topic,) = await admin.describe_topics([name])  # at once, no retry: ensure_topics waited
        finally:
            await admin.close()
        assert len(topic["partitions"]) == 6
        assert all(p["error_code"] == 0 and p["leader"] >= 0 for p in topic["partitions"])
    finally:
        await _delete(settings, name)


class _LeaderlessAdmin:
    """describe_topics as the broker answers while a new topic's partitions have no leader yet."""

    async def describe_topics(self, names: list[str]) -> list[dict[str, object]]:
        return [{"topic": n, "error_code": 0, "partitions": [{"error_code": 5, "leader": -1}]} for n in names]


async def test_a_topic_without_leaders_is_a_named_problem_after_the_timeout() -> None:
    from shared.adapters.kafka import _await_leaders

    assert await _await_leaders(_LeaderlessAdmin(), ["dx.a"], timeout_s=0.3) == ["dx.a"]


async def test_a_topic_the_topic_list_does_not_show_yet_is_still_verified(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # seen in CI: a topic created a moment before was missing from the broker's topic list, so ensure_topics tried
    # to create it, was answered "already exists", and never compared it with its spec
    name = f"dxt-drift-{uuid.uuid4().hex[:8]}"
    await _create_plain_topic(settings, name, 1)

    async def not_listed_yet(self: AIOKafkaAdminClient) -> list[str]:
        return []

    monkeypatch.setattr(AIOKafkaAdminClient, "list_topics", not_listed_yet)
    try:
        await _drift_reported(settings, name)
    finally:
        monkeypatch.undo()
        await _delete(settings, name)


async def test_a_topic_this_broker_does_not_describe_yet_is_verified_once_it_does(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # seen in CI: a topic created a moment before by another client was listed, but the broker described it as
    # unknown (no partitions, no configs), and ensure_topics reported "0 partitions, replication factor 0,
    # cleanup.policy=None" instead of the real drift
    name = f"dxt-drift-{uuid.uuid4().hex[:8]}"
    await _create_plain_topic(settings, name, 1)
    real = AIOKafkaAdminClient.describe_topics
    unknown_answers = iter(range(3))

    async def not_described_yet(self: AIOKafkaAdminClient, topics: list[str]) -> list[dict[str, Any]]:
        if next(unknown_answers, None) is not None:
            return [{"topic": t, "error_code": 3, "is_internal": False, "partitions": []} for t in topics]
        return cast(list[dict[str, Any]], await real(self, topics))

    monkeypatch.setattr(AIOKafkaAdminClient, "describe_topics", not_described_yet)
    try:
        await _drift_reported(settings, name)
        assert next(unknown_answers, None) is None  # the broker's unknown answers were all given
    finally:
        monkeypatch.undo()
        await _delete(settings, name)
