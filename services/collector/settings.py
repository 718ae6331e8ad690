"""Collector settings (prefix DX_, like every service): request limits, rate limit, caches, timeouts."""

import socket

from pydantic import Field

from shared.settings import Settings


class CollectorSettings(Settings):
    """Everything the collector reads beyond the shared settings; documented in `.env.example`."""

    collector_max_events: int = Field(1000, gt=0, description="events per request; more → 413")
    collector_max_body_bytes: int = Field(1024 * 1024, gt=0, description="request body size; more → 413")
    collector_rate_events_per_s: float = Field(50_000.0, gt=0, description="per-source token bucket refill rate")
    collector_rate_burst: float = Field(100_000.0, gt=0, description="per-source bucket size (≥ max events)")
    collector_body_timeout_s: float = Field(30.0, gt=0, description="the whole body must arrive within; then 408")
    collector_header_timeout_s: float = Field(
        5.0, gt=0, description="a request's headers must be complete within, from the first byte; then closed"
    )
    collector_keepalive_timeout_s: int = Field(5, gt=0, description="idle kept-alive connections are closed after")
    collector_max_connections: int = Field(
        900, gt=0, description="open connections (at most the nofile limit - 192); more close the longest idle"
    )
    collector_source_cache_ttl_s: float = Field(5.0, ge=0, description="how long a token lookup is cached")
    collector_token_lookups_per_s: float = Field(
        100.0, gt=0, description="lookups of never-seen token ids per second; beyond → 503 Retry-After"
    )
    collector_ready_interval_s: float = Field(
        1.0, gt=0, description="Kafka and PostgreSQL checked this often for /readyz"
    )
    collector_publish_timeout_s: float = Field(10.0, gt=0, description="wait for Kafka's commit; then 503")
    collector_transactional_id: str = Field(
        "", description="Kafka transactional.id, unique per instance; default: dx-collector-<host>-<port>"
    )
    collector_ingest_enabled: bool = Field(True, description="consume the ingest topic in this process")
    collector_ingest_max_message_bytes: int = Field(64 * 1024, gt=0, description="larger ingest messages → DLQ")
    collector_ingest_batch: int = Field(500, gt=0, description="ingest records handled per poll")
    collector_ingest_topics_refresh_s: float = Field(
        30.0, gt=0, description="a new source's ingest topic is consumed within this many seconds"
    )

    def transactional_id(self) -> str:
        """Stable across restarts of one instance, so that a restarted collector aborts its predecessor's open
        transaction at once; the group prefix keeps test runs and deployments sharing a broker apart."""
        own = self.collector_transactional_id or f"dx-collector-{socket.gethostname()}-{self.collector_port}"
        return f"{self.kafka_group_prefix}{own}"

    def transaction_timeout_ms(self) -> int:
        """How long the broker keeps a transaction of a vanished instance open (read_committed consumers wait)."""
        return int(max(30.0, 3 * self.collector_publish_timeout_s) * 1000)
