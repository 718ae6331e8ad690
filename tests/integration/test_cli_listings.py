"""`dx dlq list` and `dx sources list` as real commands: rich tables a person can read, `--json` for machines, and
hostile text from Kafka shown as text (a dead letter holding "[/x]" once crashed `dx dlq list`; an ESC byte reached
the operator's terminal)."""

import asyncio
import json
import sys

import orjson
from aiokafka import AIOKafkaProducer

from shared.adapters.kafka import producer_kwargs
from shared.settings import Settings
from testing.processes import settings_env

HOSTILE = '{"unit":"[/x]","note":"\x1b[31mred\x1b[0m"}'


async def dx(settings: Settings, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dx.main", *args,
        env={**settings_env(settings), "COLUMNS": "200"}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _dead_letter(settings: Settings) -> None:
    record = {
        "reason": "unknown_unit: unit: [/x]", "service": "collector", "source_topic": settings.topic_ingest,
        "source_partition": 0, "source_offset": 7, "original": HOSTILE,
    }  # fmt: skip
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_deadletter, orjson.dumps(record), key=b"k")
    finally:
        await producer.stop()


async def test_a_dead_letter_with_markup_and_escape_bytes_is_listed_as_text(isolated: Settings) -> None:
    await _dead_letter(isolated)
    code, out, err = await dx(isolated, "dlq", "list")
    assert code == 0, err
    assert "[/x]" in out and "\x1b" not in out and "\\x1b[31mred" in out
    code, out, _ = await dx(isolated, "dlq", "list", "--json")
    assert code == 0
    [letter] = json.loads(out)
    assert letter["original"] == HOSTILE and letter["code"] == "unknown_unit" and letter["replayed"] is False
    assert (letter["source_topic"], letter["source_partition"], letter["source_offset"]) == (
        isolated.topic_ingest,
        0,
        7,
    )


async def test_sources_list_as_a_table_and_as_json_without_secrets(isolated: Settings) -> None:
    code, out, _ = await dx(isolated, "sources", "add", "xa-ham-rong", "--units", "14758")
    token = out.strip().splitlines()[-1]
    assert code == 0 and token.startswith("dxs_")
    assert (await dx(isolated, "sources", "add", "cong-dvc", "--indicators", "gov.satisfaction"))[0] == 0
    assert (await dx(isolated, "sources", "revoke", "cong-dvc"))[0] == 0
    code, table, _ = await dx(isolated, "sources", "list")
    assert code == 0 and "xa-ham-rong" in table and "revoked" in table and token not in table
    code, out, _ = await dx(isolated, "sources", "list", "--json")
    listed = {s["name"]: s for s in json.loads(out)}
    assert listed["xa-ham-rong"]["units"] == ["14758@2025-07-01"] and listed["xa-ham-rong"]["indicators"] is None
    assert listed["cong-dvc"]["status"] == "revoked" and listed["cong-dvc"]["revoked_at"] is not None
    assert token not in out
