"""503 path on a private broker the test may stop: nothing is reported accepted that Kafka did not take, and
after the broker is back the same request succeeds."""

import orjson

from shared.adapters.kafka import ensure_topics
from tests.integration.collector.support import (
    add_source,
    collector_settings,
    ratio_event,
    read_topic,
    running_app,
    with_ids,
)
from tests.support.env import eventually


async def test_kafka_down_is_503_with_nothing_accepted_then_the_retry_succeeds(isolated, private_kafka):
    settings = collector_settings(
        isolated, kafka_bootstrap=private_kafka.bootstrap, collector_ingest_enabled=False, collector_publish_timeout_s=3
    )
    await ensure_topics(settings)
    auth = await add_source(settings, "portal")
    events = [ratio_event(), ratio_event(unit="14758"), ratio_event(unit="99999")]
    body = orjson.dumps(events)
    async with running_app(settings) as client:
        warm = await client.post("/v1/events", content=orjson.dumps([ratio_event()]), headers=auth)
        assert warm.status_code == 202

        private_kafka.stop()
        down = await client.post("/v1/events", content=body, headers=auth)
        assert down.status_code == 503, down.text
        assert down.json()["error"] == "kafka_unavailable"
        assert "nothing was accepted" in down.json()["message"]
        assert (await client.get("/readyz")).json()["kafka"] is False
        metrics = (await client.get("/metrics")).text
        assert 'dx_events_accepted_total{source="portal"} 1.0' in metrics

        private_kafka.start()

        async def retried() -> bool:
            response = await client.post("/v1/events", content=body, headers=auth)
            assert response.status_code in (202, 503), response.text
            return response.status_code == 202 and response.json()["accepted"] == 2

        await eventually(retried, timeout=60)
        ids = {events[0]["event_id"], events[1]["event_id"]}
        await read_topic(settings, settings.topic_events, with_ids(ids))
