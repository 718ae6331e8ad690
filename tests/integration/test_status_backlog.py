"""`dx status` says when the aggregator has not applied every accepted event (the statuses then judge values still
arriving), and `--wait` waits for it: real Kafka (a transactional producer, as the collector writes) and the
aggregator's offsets in PostgreSQL (`consumer_offsets`, written with each batch)."""

import subprocess
import sys
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

from shared.adapters.kafka import group_id, producer_kwargs
from shared.settings import Settings
from testing.processes import settings_env
from tests.support.db import fetch

ROOT = Path(__file__).resolve().parents[2]


def _dx(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dx.main", "status", *args], env={**settings_env(settings),
                          "COLUMNS": "200"}, cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip


async def test_status_reports_the_aggregators_backlog_and_wait_exits_1_until_it_is_applied(isolated: Settings) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(isolated), transactional_id=f"status-{uuid.uuid4().hex[:8]}")
    await producer.start()
    try:
        async with producer.transaction():
            for _ in range(30):
                last = await producer.send_and_wait(isolated.topic_events, b"{}", key=b"gov.x:38", partition=0)
    finally:
        await producer.stop()
    assert last.offset == 29  # 30 records; the commit marker is offset 30

    shown = _dx(isolated, "--limit", "1")
    assert shown.returncode == 0, shown.stderr
    assert "Bộ tổng hợp còn 30 sự kiện chưa ghi" in shown.stdout and "30 events not yet applied" in shown.stdout

    waited = _dx(isolated, "--wait", "1", "--limit", "1")
    assert waited.returncode == 1
    assert waited.stderr.strip() == "dx status: after 1 s the aggregator still has 30 events to apply"

    # the aggregator applied them: its stored next offset is 30, and only the commit marker follows it
    group = group_id(isolated, isolated.aggregator_group)
    await fetch(isolated, "INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) "
                "VALUES ($1, $2, 0, 30)", group, isolated.topic_events)  # fmt: skip
    settled = _dx(isolated, "--wait", "5", "--limit", "1")
    assert settled.returncode == 0, settled.stderr
    assert "Bộ tổng hợp" not in settled.stdout and settled.stderr == ""


def test_wait_must_be_a_positive_number_of_seconds(isolated: Settings) -> None:
    refused = _dx(isolated, "--wait", "0")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "dx status: --wait 0.0: give a positive number of seconds"
