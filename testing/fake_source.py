"""A fake source system on loopback for the demo and the tests: a portal-like JSON report, paged, with ETags.

`GET /report?page=N` answers `{"page": N, "data": [...], "links": {"next": "report?page=N+1" or null}}` with
`page_size` records per page (an empty `data` past the last page) and an ETag over the whole report;
`If-None-Match` with the current ETag answers 304.
`GET /report.csv` is the same report as CSV (one page). With `etags=False` the validator is `Last-Modified`
(`If-Modified-Since` with that date answers 304); with `token` set, requests need `Authorization: Bearer <token>`.
Tests steer it through `FakeSource` (add records, make requests fail with 500 or answer slowly) and read
`requests` (path, status); the demo runs `python -m testing.fake_source --port 9110`, which serves a few
communes' figures for each day up to today.
"""

import argparse
import csv
import hashlib
import io
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson

FIELDS = ("ma_xa", "ngay", "ho_so_truc_tuyen", "tong_ho_so")


@dataclass
class FakeState:
    records: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 3
    fail_next: int = 0  # answer this many requests with 500
    fail_paths: set[str] = field(default_factory=set)  # answer requests for these paths (with query) with 500
    delay_s: float = 0.0  # sleep this long before answering
    etags: bool = True  # False: validators by Last-Modified only
    last_modified: str = "Mon, 30 Nov 2026 00:00:00 GMT"
    token: str | None = None  # when set, requests must carry `Authorization: Bearer <token>` (else 401)
    authorizations: list[str | None] = field(default_factory=list)  # the Authorization header of each request
    requests: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def etag(self) -> str:
        return '"' + hashlib.sha256(orjson.dumps(self.records)).hexdigest()[:16] + '"'


class _Handler(BaseHTTPRequestHandler):
    state: FakeState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        state = self.state
        if state.delay_s:
            time.sleep(state.delay_s)
        url = urlparse(self.path)
        with state.lock:
            status, body, headers = self._answer(state, url.path, parse_qs(url.query))
            state.requests.append((self.path, status))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, state: FakeState, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, dict[str, str]]:
        state.authorizations.append(self.headers.get("Authorization"))
        if state.token is not None and self.headers.get("Authorization") != f"Bearer {state.token}":
            return 401, b'{"error": "unauthorized"}', {"Content-Type": "application/json"}
        if state.fail_next > 0 or self.path in state.fail_paths:
            state.fail_next = max(0, state.fail_next - 1)
            return 500, b'{"error": "internal"}', {"Content-Type": "application/json"}
        etag = state.etag()
        validators = {"ETag": etag} if state.etags else {"Last-Modified": state.last_modified}
        if state.etags and self.headers.get("If-None-Match") == etag:
            return 304, b"", validators
        if not state.etags and self.headers.get("If-Modified-Since") == state.last_modified:
            return 304, b"", validators
        if path == "/report":
            page = int((query.get("page") or ["1"])[0])
            start = (page - 1) * state.page_size
            data = state.records[start : start + state.page_size]
            more = start + state.page_size < len(state.records)
            body = {"page": page, "data": data, "links": {"next": f"report?page={page + 1}" if more else None}}
            return 200, orjson.dumps(body), {"Content-Type": "application/json", **validators}
        if path == "/report.csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, FIELDS)
            writer.writeheader()
            writer.writerows(state.records)
            return 200, out.getvalue().encode(), {"Content-Type": "text/csv", **validators}
        return 404, b"not found", {"Content-Type": "text/plain"}


class FakeSource:
    """The server in a background thread: `with FakeSource() as source: source.url …`."""

    def __init__(self, state: FakeState | None = None, port: int = 0) -> None:
        self.state = state or FakeState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeSource":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def record(commune: str, day: date, online: int, total: int) -> dict[str, Any]:
    return {"ma_xa": commune, "ngay": day.isoformat(), "ho_so_truc_tuyen": online, "tong_ho_so": total}


def demo_records(today: date, days: int = 14) -> list[dict[str, Any]]:
    """Level-4 online dossiers of three communes, one figure a day for the last `days` days."""
    out = []
    for n in range(days, 0, -1):
        day = today - timedelta(days=n)
        for i, commune in enumerate(("14758", "14797", "14812")):
            out.append(record(commune, day, 250 + 5 * (days - n) + 11 * i, 400 + 3 * i))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="fake portal report on loopback (demo and tests)")
    parser.add_argument("--port", type=int, default=9110)
    args = parser.parse_args()
    source = FakeSource(FakeState(records=demo_records(date.today()), page_size=10), args.port)
    print(f"fake source: {source.url}/report?page=1", flush=True)
    source.server.serve_forever()


if __name__ == "__main__":
    main()
