"""The collector as a real process (`python -m services.collector`): HTTP through uvicorn, limits on the wire,
the ingest consumer running beside the API, and a clean stop."""

import asyncio

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from shared.adapters.kafka import producer_kwargs
from testing.processes import ServiceProcess, free_port
from tests.integration.collector.support import ratio_event, read_topic, with_ids
from tests.support.db import add_kafka_source, add_source


async def test_the_collector_process_serves_http_and_ingest(isolated):
    port = free_port()
    settings = isolated.model_copy(update={"collector_port": port})
    auth = await add_source(settings, "portal")
    topic = await add_kafka_source(settings, "kafka-portal")
    service = ServiceProcess("collector", settings, f"http://127.0.0.1:{port}/readyz").start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            by_http, by_kafka = ratio_event(), ratio_event(unit="14758")
            response = await client.post("/v1/events", content=orjson.dumps([by_http]), headers=auth)
            assert (response.status_code, response.json()) == (202, {"accepted": 1, "rejected": []})

            async def endless():
                for _ in range(10_000):  # 640 MB offered, chunked: the server must stop at 1 MiB
                    yield b" " * 65536

            response = await client.post("/v1/events", content=endless(), headers=auth)
            assert response.status_code == 413
            assert await _status_of_declared_length(port, auth, 2 * 1024 * 1024) == 413

            producer = AIOKafkaProducer(**producer_kwargs(settings))
            await producer.start()
            try:
                await producer.send_and_wait(topic, orjson.dumps(by_kafka))
            finally:
                await producer.stop()
            ids = {by_http["event_id"], by_kafka["event_id"]}
            await read_topic(settings, settings.topic_events, with_ids(ids))
            assert (await client.get("/readyz")).status_code == 200
    finally:
        service.stop()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: -15 is its clean exit
    assert service.proc is not None and service.proc.returncode in (0, -15), service.log_tail()
    assert "Application shutdown complete" in service.log_tail(), service.log_tail()


async def _status_of_declared_length(port: int, auth: dict[str, str], length: int) -> int:
    """Send only the headers of a request declaring `length` bytes; the answer must come without the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = (
            f"POST /v1/events HTTP/1.1\r\nHost: collector\r\nAuthorization: {auth['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        writer.write(head.encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        return int(status_line.split()[1])
    finally:
        writer.close()
