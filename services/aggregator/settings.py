"""Aggregator settings (same DX_ prefix as the shared Settings)."""

from pydantic import Field

from shared.settings import Settings


class AggregatorSettings(Settings):
    aggregator_metrics_host: str = Field("127.0.0.1", description="address the /metrics endpoint binds")
    aggregator_max_records: int = Field(10000, gt=0, description="most events read and staged at a time (a batch)")
    aggregator_transaction_events: int = Field(
        500_000, gt=0, description="while a backlog waits, batches join one transaction up to this many events"
    )
    aggregator_transaction_series_days: int = Field(
        30_000,
        gt=0,
        description="… and up to this many (indicator, unit, day) values to recompute (bounds the memory it holds)",
    )
    aggregator_transaction_seconds: float = Field(
        5.0, gt=0, description="… and for at most this long: values are at most this old while a backlog waits"
    )
    aggregator_decode_worker: bool = Field(
        True, description="decode batches in a worker process, beside the transactions (false: in-process)"
    )
    aggregator_batch_timeout_ms: int = Field(200, gt=0, description="longest wait to fill a batch")
    aggregator_retry_seconds: float = Field(
        1.0, gt=0, description="longest pause before retrying a failed batch (exponential backoff with jitter)"
    )
    aggregator_refresh_seconds: float = Field(
        300.0, gt=0, description="how often increment values are re-evaluated as days leave the 365-day window"
    )
