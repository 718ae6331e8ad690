"""Configuration, read from the environment with the prefix DX_ (pydantic-settings).

One class serves every service so that the README's configuration table, `.env.example` and
`docker-compose.yml` describe one set of names. Services subclass it only for settings of their own.
"""

from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlencode

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import names
from shared.contracts import topics


class Settings(BaseSettings):
    """Settings common to all services and the `dx` command."""

    model_config = SettingsConfigDict(env_prefix="DX_", env_file=".env", extra="ignore")

    # Kafka
    kafka_bootstrap: str = Field(f"127.0.0.1:{names.PORT_KAFKA}", description="Kafka bootstrap servers")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="PLAINTEXT on loopback; SASL_SSL in production"
    )
    kafka_sasl_mechanism: str | None = Field(None, description="SCRAM-SHA-512 in production")
    kafka_sasl_username: str | None = Field(None, description="SASL user of this service")
    kafka_sasl_password: str | None = Field(None, description="SASL password of this service")
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA (PEM) the brokers' certificates chain to, for SSL and SASL_SSL; default: system CAs"
    )
    kafka_ssl_certfile: Path | None = Field(None, description="client certificate (PEM), if the brokers ask for one")
    kafka_ssl_keyfile: Path | None = Field(None, description="private key (PEM) of the client certificate")
    kafka_replication_factor: int = Field(1, description="3 in production")
    kafka_min_insync_replicas: int = Field(1, description="2 in production")

    kafka_group_prefix: str = Field("", description="prefix of every consumer group id (isolates test runs)")
    kafka_fetch_max_wait_ms: int = Field(
        50, gt=0, description="longest a consumer's fetch waits at the broker for data (aiokafka's default 500)"
    )
    aggregator_group: str = Field(
        names.GROUP_AGGREGATOR, description="the aggregator's consumer group on dx.events.v1 (the alerter and dx "
        "status read its backlog)"
    )  # fmt: skip

    events_horizon_days: int = Field(
        45, description="replay horizon of applied_events (docs/storage.md): `dx events prune` detaches the months "
        "received longer ago; must exceed the retention of dx.events.v1 (30 days) and dx.ingest.v1 (7 days)"
    )  # fmt: skip

    # Topics (docs/events-and-topics.md); overridable so tests can isolate themselves
    topic_ingest: str = Field(topics.TOPIC_INGEST, description="raw events from source systems that speak Kafka")
    topic_events: str = Field(topics.TOPIC_EVENTS, description="validated events, key indicator:unit")
    topic_deadletter: str = Field(topics.TOPIC_DEADLETTER, description="rejected messages with the reason")
    topic_rollups: str = Field(topics.TOPIC_ROLLUPS, description="rollup changes (compacted)")
    topic_alerts: str = Field(topics.TOPIC_ALERTS, description="alert state changes")

    # PostgreSQL
    pg_host: str = Field("127.0.0.1", description="PostgreSQL host")
    pg_port: int = Field(names.PORT_POSTGRES, description="PostgreSQL port")
    pg_database: str = Field("dxmon", description="database name")
    pg_user: str = Field("dx_app", description="the operators' role (dx): reads and writes rows, no DDL")
    pg_password: str = Field("dx_app_dev", description="operators' password (change in production)")
    pg_collector_user: str = Field("dx_collector", description="collector's role: reads sources, writes nothing")
    pg_collector_password: str = Field("dx_collector_dev", description="collector role's password")
    pg_aggregator_user: str = Field("dx_aggregator", description="aggregator's role: events, offsets, values")
    pg_aggregator_password: str = Field("dx_aggregator_dev", description="aggregator role's password")
    pg_alerter_user: str = Field("dx_alerter", description="alerter's role: reads values, writes statuses, alerts")
    pg_alerter_password: str = Field("dx_alerter_dev", description="alerter role's password")
    pg_pull_user: str = Field("dx_pull", description="pull collector's role: its connectors' state only")
    pg_pull_password: str = Field("dx_pull_dev", description="pull collector role's password")
    pg_owner_user: str = Field("dx_owner", description="owns the schema; used only by `dx db migrate`")
    pg_owner_password: str = Field("dx_owner_dev", description="owner's password (change in production)")
    pg_grafana_user: str = Field("dx_grafana", description="Grafana's read-only role")
    pg_grafana_password: str = Field("dx_grafana_dev", description="Grafana role's password")
    pg_pool_max: int = Field(10, description="largest connection pool per service")
    pg_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        "prefer", description="TLS to PostgreSQL (libpq's sslmode); verify-full in production"
    )
    pg_sslrootcert: Path | None = Field(None, description="CA certificate (PEM) for verify-ca / verify-full")
    pg_sslcert: Path | None = Field(None, description="client certificate (PEM), if the server asks for one")
    pg_sslkey: Path | None = Field(None, description="private key (PEM) of the client certificate")

    # HTTP / metrics ports
    collector_host: str = Field(
        "127.0.0.1", description="address the collector's HTTP API binds (0.0.0.0 in containers)"
    )
    collector_port: int = Field(names.PORT_COLLECTOR, description="collector HTTP API and /metrics")
    aggregator_metrics_port: int = Field(names.PORT_AGGREGATOR_METRICS, description="aggregator /metrics and /healthz")
    alerter_metrics_port: int = Field(names.PORT_ALERTER_METRICS, description="alerter /metrics (domain gauges)")
    prometheus_url: str = Field(
        f"http://127.0.0.1:{names.PORT_PROMETHEUS}", description="Prometheus, for tools and tests"
    )
    alertmanager_url: str = Field(
        f"http://127.0.0.1:{names.PORT_ALERTMANAGER}", description="Alertmanager API v2 the alerter posts to"
    )
    grafana_url: str = Field(
        f"http://127.0.0.1:{names.PORT_GRAFANA}", description="Grafana base URL used in alert links"
    )

    # On-call receiver (services/oncall): Alertmanager's webhook and e-mail end up there
    oncall_host: str = Field("127.0.0.1", description="address the on-call receiver binds (0.0.0.0 in containers)")
    oncall_port: int = Field(names.PORT_ONCALL, description="on-call receiver: webhook, page and JSON list")
    oncall_smtp_port: int = Field(names.PORT_ONCALL_SMTP, description="on-call receiver's SMTP inbox")
    oncall_store_path: Path | None = Field(None, description="JSON lines of notifications; default: memory only")
    runbook_url: str = Field(
        f"http://127.0.0.1:{names.PORT_ONCALL}/runbook", description="runbook linked from alerts (#alertname)"
    )

    # Reference data; defaults are the files shipped in the package
    catalog_path: Path | None = Field(None, description="indicator catalog (TOML); default: the shipped one")
    units_dir: Path | None = Field(None, description="folder of hierarchy CSVs; default: the shipped ones")

    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR")

    def pg_dsn(self, role: str = "app") -> str:
        """DSN for one of the roles (docs/database.md "Roles"): 'app' (the operators' dx), 'owner' (migrations),
        'grafana' (read-only), or a service's own: 'collector', 'aggregator', 'alerter', 'pull'."""
        user, password = {
            "app": (self.pg_user, self.pg_password),
            "owner": (self.pg_owner_user, self.pg_owner_password),
            "grafana": (self.pg_grafana_user, self.pg_grafana_password),
            "collector": (self.pg_collector_user, self.pg_collector_password),
            "aggregator": (self.pg_aggregator_user, self.pg_aggregator_password),
            "alerter": (self.pg_alerter_user, self.pg_alerter_password),
            "pull": (self.pg_pull_user, self.pg_pull_password),
        }[role]
        tls = {"sslmode": self.pg_sslmode, "sslrootcert": self.pg_sslrootcert, "sslcert": self.pg_sslcert,
               "sslkey": self.pg_sslkey}  # fmt: skip
        query = urlencode({k: str(v) for k, v in tls.items() if v is not None})
        # Every part is percent-encoded: a password such as "p@ss/word#1" must not be read as a host or a path.
        return (
            f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{self.pg_host}:{self.pg_port}/"
            f"{quote(self.pg_database, safe='')}?{query}"
        )
