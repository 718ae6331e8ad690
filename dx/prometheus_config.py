"""The local Prometheus configuration, generated from the settings (the DX_*_PORT and DX_*_URL variables), so the
scrape targets follow the ports the services are configured with. deploy/local/prometheus.sh writes it into the
run folder before each start; deploy/prometheus/prometheus.yml is the same file for the default settings
(a test keeps it in step: `dx config --prometheus > deploy/prometheus/prometheus.yml`).

Scrape intervals: the pipeline services every 5 s (rates and latencies of a live flow); the alerter every 30 s,
because its domain gauges change only when a rollup is evaluated or at its periodic evaluation (60 s by default),
so a shorter interval would store the same values again (README "Metrics")."""

from urllib.parse import urlsplit

from services.pull.settings import PullSettings
from shared.settings import Settings

HEADER = """\
# dxmon local Prometheus, generated from the settings by `dx config --prometheus` (dx/prometheus_config.py):
# deploy/local/prometheus.sh writes it into .run/ before each start, with the configured ports; this copy holds
# the defaults. Check: promtool check config deploy/prometheus/prometheus.yml
"""


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def scrape_targets(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(job, target, scrape interval, comment) of every scrape job."""
    return [
        ("prometheus", _host_port(settings.prometheus_url), "5s", "Prometheus itself (DX_PROMETHEUS_URL)"),
        ("collector", f"127.0.0.1:{settings.collector_port}", "5s", "HTTP ingest API (DX_COLLECTOR_PORT)"),
        ("aggregator", f"127.0.0.1:{settings.aggregator_metrics_port}", "5s", "DX_AGGREGATOR_METRICS_PORT"),
        ("alerter", f"127.0.0.1:{settings.alerter_metrics_port}", "30s", "domain gauges (DX_ALERTER_METRICS_PORT)"),
        (
            "pull",
            f"127.0.0.1:{_pull(settings).pull_metrics_port}",
            "5s",
            "the pull collector's connectors (DX_PULL_METRICS_PORT)",
        ),
        ("alertmanager", _host_port(settings.alertmanager_url), "5s", "DX_ALERTMANAGER_URL"),
    ]


def _pull(settings: Settings) -> PullSettings:
    """The pull collector's settings over these (its port is its own setting)."""
    return settings if isinstance(settings, PullSettings) else PullSettings(**settings.model_dump())


def render(settings: Settings, rules_dir: str = "rules") -> str:
    """The configuration as YAML text; `rules_dir` is relative to the file or absolute."""
    lines = [
        HEADER.rstrip("\n"),
        "global:",
        "  scrape_interval: 5s",
        "  evaluation_interval: 5s",
        "  scrape_timeout: 4s",
        "",
        "rule_files:",
        f'  - "{rules_dir.rstrip("/")}/*.yml"',
        "",
        "alerting:",
        "  alertmanagers:",
        "    - static_configs:",
        f'        - targets: ["{_host_port(settings.alertmanager_url)}"]',
        "",
        "scrape_configs:",
    ]
    for job, target, interval, comment in scrape_targets(settings):
        lines += [f"  - job_name: {job}  # {comment}"]
        if interval != "5s":
            lines += [f"    scrape_interval: {interval}", "    scrape_timeout: 10s"]
        lines += ["    static_configs:", f'      - targets: ["{target}"]', ""]
    return "\n".join(lines).rstrip("\n") + "\n"
