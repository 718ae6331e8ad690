"""Configuration, read from the environment with the prefix DX_ (pydantic-settings).

One class serves every service so that the README's configuration table, `.env.example` and
`docker-compose.yml` describe one set of names. Services subclass it only for settings of their own.
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import names


class Settings(BaseSettings):
    """Settings common to all services and the `dx` command."""

    model_config = SettingsConfigDict(env_prefix="DX_", env_file=".env", extra="ignore")

    # Kafka
    kafka_bootstrap: str = Field(f"127.0.0.1:{names.PORT_KAFKA}", description="Kafka bootstrap servers")
    kafka_security_protocol: str = Field("PLAINTEXT", description="PLAINTEXT or SASL_PLAINTEXT / SASL_SSL")
    kafka_sasl_mechanism: str | None = Field(None, description="SCRAM-SHA-512 in production")
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_replication_factor: int = Field(1, description="3 in production")
    kafka_min_insync_replicas: int = Field(1, description="2 in production")

    # Topics (DESIGN §6); overridable so tests can isolate themselves
    topic_ingest: str = names.TOPIC_INGEST
    topic_events: str = names.TOPIC_EVENTS
    topic_deadletter: str = names.TOPIC_DEADLETTER
    topic_rollups: str = names.TOPIC_ROLLUPS
    topic_alerts: str = names.TOPIC_ALERTS

    # PostgreSQL
    pg_host: str = "127.0.0.1"
    pg_port: int = names.PORT_POSTGRES
    pg_database: str = "dxmon"
    pg_user: str = Field("dx_app", description="services' role: reads and writes rows, no DDL")
    pg_password: str = "dx_app_dev"
    pg_owner_user: str = Field("dx_owner", description="owns the schema; used only by `dx db migrate`")
    pg_owner_password: str = "dx_owner_dev"
    pg_grafana_user: str = Field("dx_grafana", description="Grafana's read-only role")
    pg_grafana_password: str = "dx_grafana_dev"
    pg_pool_max: int = 10

    # HTTP / metrics ports (DESIGN §9)
    collector_host: str = "127.0.0.1"
    collector_port: int = names.PORT_COLLECTOR
    aggregator_metrics_port: int = names.PORT_AGGREGATOR_METRICS
    alerter_metrics_port: int = names.PORT_ALERTER_METRICS
    prometheus_url: str = f"http://127.0.0.1:{names.PORT_PROMETHEUS}"
    alertmanager_url: str = f"http://127.0.0.1:{names.PORT_ALERTMANAGER}"
    grafana_url: str = f"http://127.0.0.1:{names.PORT_GRAFANA}"

    # Reference data; defaults are the files shipped in the package
    catalog_path: Path | None = Field(None, description="indicator catalog (TOML); default: the shipped one")
    units_dir: Path | None = Field(None, description="folder of hierarchy CSVs; default: the shipped ones")

    log_level: str = "INFO"

    def pg_dsn(self, role: str = "app") -> str:
        """DSN for one of the three roles: 'app' (services), 'owner' (migrations), 'grafana' (read-only)."""
        user, password = {
            "app": (self.pg_user, self.pg_password),
            "owner": (self.pg_owner_user, self.pg_owner_password),
            "grafana": (self.pg_grafana_user, self.pg_grafana_password),
        }[role]
        return f"postgresql://{user}:{password}@{self.pg_host}:{self.pg_port}/{self.pg_database}"
