"""Alerter settings (prefix DX_, like every setting)."""

from datetime import datetime

from pydantic import Field, field_validator

from shared.domain.catalog import LEVEL_DEPTH
from shared.settings import Settings


class AlerterSettings(Settings):
    alerter_eval_interval_seconds: float = Field(60.0, description="full evaluation of every target, this often")
    alerter_reconcile_seconds: float = Field(15.0, description="leader: full alert reconciliation, this often")
    alerter_grace_seconds: float = Field(300.0, description="a condition must hold this long before it fires")
    alerter_keep_firing_seconds: float = Field(
        300.0, ge=0, description="a firing alert resolves once its condition stayed clear this long (no flapping)"
    )
    alerter_resend_seconds: float = Field(60.0, description="firing alerts are re-sent to Alertmanager this often")
    alerter_alert_lease_seconds: float | None = Field(None, description="endsAt = now + this; default 4 × resend")
    alerter_leader_lease_seconds: float = Field(15.0, description="leader lease; a dead leader is replaced after it")
    alerter_forecast_window_days: int = Field(365, description="trailing window of the least-squares trend")
    alerter_forecast_min_points: int = Field(3, description="distinct days the trend needs")
    alerter_forecast_periods: int = Field(5, ge=2, description="latest periods a yearly statistic's trend is fitted on")
    alerter_clock_start: datetime | None = Field(None, description="evaluation clock starts here (tests, demos)")
    alerter_dashboard_path: str = Field("/d/dx-units", description="Grafana dashboard linked from alerts")
    alerter_instance: str | None = Field(None, description="lease holder name; default host:pid")
    alerter_metrics_host: str = Field("127.0.0.1", description="address the /metrics endpoint binds")
    alerter_metrics_levels: str = Field(
        "province,district", description="levels whose domain gauges /metrics exports (commas); communes: SQL"
    )
    alerter_lag_interval_seconds: float = Field(10.0, description="consumer lag of the alerter's group, this often")
    alerter_hold_backlog_messages: int = Field(
        1000, ge=0, description="no new alert while the aggregator has more events than this to apply (or unknown)"
    )

    @field_validator("alerter_metrics_levels")
    @classmethod
    def _known_levels(cls, value: str) -> str:
        unknown = {level.strip() for level in value.split(",") if level.strip()} - set(LEVEL_DEPTH)
        if unknown:
            raise ValueError(f"unknown level(s) {sorted(unknown)}: use {', '.join(LEVEL_DEPTH)}")
        return value

    @property
    def metrics_levels(self) -> frozenset[str]:
        return frozenset(level.strip() for level in self.alerter_metrics_levels.split(",") if level.strip())

    @property
    def alert_lease_seconds(self) -> float:
        return self.alerter_alert_lease_seconds or 4 * self.alerter_resend_seconds
