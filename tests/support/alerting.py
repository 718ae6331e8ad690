"""On-call side of the alert tests: a webhook receiver recording Alertmanager's notifications, and an alerter
process with short intervals."""

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from shared.settings import Settings
from testing.processes import ServiceProcess, free_port

CATALOG_HEADER = 'version = 1\n[pillars.gov]\nvi = "Chính quyền số"\nen = "Digital government"\n'
TEST_INDICATOR = """
[[indicators]]
code = "{code}"
pillar = "gov"
label_vi = "Chỉ tiêu kiểm thử cảnh báo"
label_en = "Alerter test indicator"
measure = "ratio"
semantics = "snapshot"
reported_at = "province"
display_unit = "%"
tolerance = 3.0
reporting_interval_days = 3650
targets.2025 = {{ value = 50.0 }}
targets.2030 = {{ value = 80.0 }}
"""


def write_catalog(folder: Path, *codes: str) -> Path:
    """A private catalog of province ratio indicators (targets 50 % in 2025, 80 % in 2030), one per code, so a
    test's alerts (grouped by alertname and indicator) never mix with another's in a shared Alertmanager."""
    path = folder / "catalog.toml"
    path.write_text(CATALOG_HEADER + "".join(TEST_INDICATOR.format(code=c) for c in codes), encoding="utf-8")
    return path


class Webhook:
    """Notifications received (Alertmanager's webhook bodies), safe to read from the test's thread."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def for_alert(self, indicator: str, alertname: str) -> list[tuple[str, list[dict[str, Any]]]]:
        """(status, alerts) of each notification of the groups of (alertname, indicator), whatever the unit."""
        with self.lock:
            return [
                (b["status"], b["alerts"])
                for b in self.bodies
                if {k: b.get("groupLabels", {}).get(k) for k in ("alertname", "indicator")}
                == {"alertname": alertname, "indicator": indicator}
            ]

    def statuses(self, indicator: str, alertname: str) -> list[str]:
        return [status for status, _ in self.for_alert(indicator, alertname)]


@contextmanager
def webhook_receiver(port: int) -> Iterator[Webhook]:
    received = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with received.lock:
                received.bodies.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def fast_alerter(
    settings: Settings,
    catalog: Path,
    name: str,
    alertmanager_url: str | None = None,
    clock_start: str | None = "2026-11-27T05:00:00+00:00",  # the 2025 milestone is judged
    extra_env: Mapping[str, str] | None = None,
) -> ServiceProcess:
    """An alerter on `catalog` with 1–3 s intervals, so a test sees firing, re-sends and leadership quickly."""
    port = free_port()
    env = {
        "DX_CATALOG_PATH": str(catalog),
        "DX_ALERTER_METRICS_PORT": str(port),
        "DX_ALERTER_INSTANCE": name,
        "DX_ALERTER_GRACE_SECONDS": "1",
        "DX_ALERTER_KEEP_FIRING_SECONDS": "1",
        "DX_ALERTER_RESEND_SECONDS": "2",
        "DX_ALERTER_RECONCILE_SECONDS": "1",
        "DX_ALERTER_EVAL_INTERVAL_SECONDS": "1",
        "DX_ALERTER_LEADER_LEASE_SECONDS": "3",
        "DX_ALERTER_LAG_INTERVAL_SECONDS": "1",
        **(extra_env or {}),
    }
    if alertmanager_url:
        env["DX_ALERTMANAGER_URL"] = alertmanager_url
    if clock_start:
        env["DX_ALERTER_CLOCK_START"] = clock_start
    return ServiceProcess("alerter", settings, f"http://127.0.0.1:{port}/metrics", env)


def chain_processes(settings: Settings, alerter: ServiceProcess) -> list[ServiceProcess]:
    """The whole chain of one test as real processes: a collector on `settings.collector_port`, an aggregator on a
    free metrics port, then `alerter` (a `fast_alerter`); start them in this order, stop them in reverse."""
    agg_port = free_port()
    return [
        ServiceProcess("collector", settings, f"http://127.0.0.1:{settings.collector_port}/readyz"),
        ServiceProcess(
            "aggregator",
            settings,
            f"http://127.0.0.1:{agg_port}/healthz",
            {"DX_AGGREGATOR_METRICS_PORT": str(agg_port)},
        ),
        alerter,
    ]
