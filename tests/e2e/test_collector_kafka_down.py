"""The collector starts while Kafka is unreachable: alive (/healthz 200), not ready (/readyz 503, kafka false) and
refusing events with 503; once Kafka answers it becomes ready and accepts them, without a restart. Kafka "comes up"
at the collector's bootstrap address as a TCP forwarder to the real broker, started mid-test."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import orjson

from testing.processes import ServiceProcess, free_port
from tests.integration.collector.support import ratio_event, read_topic, with_ids
from tests.support.db import add_source
from tests.support.env import eventually


@asynccontextmanager
async def forwarder(port: int, to_host: str, to_port: int) -> AsyncIterator[None]:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(to_host, to_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def test_the_collector_starts_not_ready_without_kafka_and_becomes_ready_when_it_answers(isolated):
    port, kafka_port = free_port(), free_port()
    real_host, real_port = isolated.kafka_bootstrap.split(",")[0].rsplit(":", 1)
    settings = isolated.model_copy(update={"collector_port": port, "kafka_bootstrap": f"127.0.0.1:{kafka_port}"})
    auth = await add_source(settings, "portal")
    service = ServiceProcess("collector", settings, f"http://127.0.0.1:{port}/healthz").start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()["kafka"]) == (503, False)
            event = ratio_event()
            refused = await client.post("/v1/events", content=orjson.dumps([event]), headers=auth)
            assert refused.status_code == 503

            async with forwarder(kafka_port, real_host, int(real_port)):

                async def is_ready() -> bool:
                    return (await client.get("/readyz")).status_code == 200

                assert await eventually(is_ready, timeout=60, interval=0.5)
                accepted = await client.post("/v1/events", content=orjson.dumps([event]), headers=auth)
                assert (accepted.status_code, accepted.json()) == (202, {"accepted": 1, "rejected": []})
                await read_topic(isolated, isolated.topic_events, with_ids({event["event_id"]}))
    finally:
        service.stop()
