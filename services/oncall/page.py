"""The on-call page: the newest notifications first, refreshed every 10 s. Pure: builds HTML from the store."""

from html import escape

from services.oncall.store import Notification

STATUS_VI = {"firing": "Đang cảnh báo (firing)", "resolved": "Đã hết (resolved)"}


def render(items: list[Notification], watchdog_at: str | None) -> str:
    rows = "\n".join(
        f"<tr class='{escape(n.status)}'><td>{escape(n.received_at)}</td><td>{escape(n.channel)}</td>"
        f"<td>{escape(STATUS_VI.get(n.status, n.status))}</td><td><b>{escape(n.title)}</b>"
        f"<pre>{escape(n.body)}</pre>{_links(n)}</td></tr>"
        for n in items
    )
    watchdog = (
        f"Watchdog nhận lúc (last heartbeat) {escape(watchdog_at)}"
        if watchdog_at
        else "Chưa nhận Watchdog (no heartbeat yet): Prometheus → Alertmanager → đây chưa thông"
    )
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>dxmon – trực cảnh báo (on-call)</title>
<style>body{{font-family:sans-serif;margin:1em}} td{{vertical-align:top;padding:4px 8px;border-bottom:1px solid #ccc}}
tr.firing td:nth-child(3){{color:#b00}} tr.resolved td:nth-child(3){{color:#070}}
pre{{white-space:pre-wrap;margin:0}}</style>
</head><body>
<h1>Trực cảnh báo dxmon (on-call notifications)</h1>
<p>{watchdog}. {len(items)} thông báo (notifications); JSON: <a href="/api/notifications">/api/notifications</a>.</p>
<table><tr><th>Nhận lúc (received)</th><th>Kênh (channel)</th><th>Trạng thái (status)</th><th>Nội dung</th></tr>
{rows}
</table></body></html>"""


def _links(n: Notification) -> str:
    links = []
    for a in n.alerts:
        for key, text in (("dashboard_url", "Bảng theo dõi (dashboard)"), ("runbook_url", "Hướng dẫn (runbook)")):
            url = a.get("annotations", {}).get(key)
            if url and url.startswith(("http://", "https://")):
                links.append(f"<a href='{escape(url)}'>{text}</a>")
    return " · ".join(dict.fromkeys(links))
