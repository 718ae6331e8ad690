"""Pull-collector settings (prefix DX_, like every setting)."""

from pathlib import Path

from pydantic import Field

from shared import names
from shared.settings import Settings


class PullSettings(Settings):
    pull_connectors_dir: Path = Field(Path("deploy/connectors"), description="folder of connector files (*.toml)")
    pull_collector_url: str = Field(
        f"http://127.0.0.1:{names.PORT_COLLECTOR}", description="collector the connectors post their events to"
    )
    pull_metrics_host: str = Field("127.0.0.1", description="address the pull collector's /metrics binds")
    pull_metrics_port: int = Field(names.PORT_PULL_METRICS, description="pull collector /metrics and /healthz")
    pull_lease_seconds: float = Field(
        30.0, gt=0, description="a connector's lease; a dead holder's tick is retaken after it"
    )
    pull_poll_seconds: float = Field(1.0, gt=0, description="how often each connector looks whether its tick is due")
    pull_backoff_base_seconds: float = Field(5.0, gt=0, description="wait after a failed run, doubled per failure")
    pull_backoff_max_seconds: float = Field(600.0, gt=0, description="longest wait between failed runs")
    pull_batch: int = Field(500, gt=0, le=1000, description="events per request to the collector")
    pull_instance: str | None = Field(None, description="lease holder name; default host:pid")
