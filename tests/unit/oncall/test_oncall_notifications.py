"""What the on-call receiver makes of Alertmanager's webhook bodies and e-mails, and how its page shows them."""

from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient

from services.oncall.app import router
from services.oncall.notifications import from_email, from_webhook, one_line
from services.oncall.page import render
from services.oncall.store import Store

BODY: dict[str, Any] = {
    "version": "4",
    "status": "firing",
    "groupLabels": {"alertname": "DxTargetBehind", "indicator": "gov.x", "unit": "38"},
    "commonAnnotations": {"summary": "Tỷ lệ hồ sơ – Tỉnh Thanh Hóa: chậm tiến độ (mục tiêu 2025)"},
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "DxTargetBehind", "indicator": "gov.x", "unit": "38"},
            "annotations": {
                "summary": "Tỷ lệ hồ sơ – Tỉnh Thanh Hóa: chậm tiến độ (mục tiêu 2025)",
                "dashboard_url": "http://127.0.0.1:3000/d/dx-units?var-unit=38",
                "runbook_url": "javascript:alert(1)",
            },
            "startsAt": "2026-12-01T02:00:00Z",
        }
    ],
}


def test_a_webhook_body_is_one_notification_titled_by_its_common_summary() -> None:
    n = from_webhook(BODY)
    assert (n.channel, n.status, n.title) == ("webhook", "firing", BODY["commonAnnotations"]["summary"])
    assert n.body == "DxTargetBehind [firing] Tỷ lệ hồ sơ – Tỉnh Thanh Hóa: chậm tiến độ (mục tiêu 2025)"
    assert one_line(n) == "[webhook] FIRING: Tỷ lệ hồ sơ – Tỉnh Thanh Hóa: chậm tiến độ (mục tiêu 2025)"


def test_an_encoded_email_is_decoded_with_its_diacritics() -> None:
    msg = EmailMessage()
    msg["Subject"] = "[dxmon] Đã hết (resolved): Xã Đông Tiến"
    msg["From"], msg["To"] = "am@dxmon.local", "oncall@dxmon.local"
    msg.set_content("Địa bàn (unit): Xã Đông Tiến", cte="quoted-printable")
    raw = msg.as_bytes()
    assert "Đông".encode() not in raw  # really encoded on the wire (RFC 2047 and quoted-printable)
    n = from_email(raw)
    assert (n.channel, n.status, n.title, n.body) == (
        "email", "resolved", "[dxmon] Đã hết (resolved): Xã Đông Tiến", "Địa bàn (unit): Xã Đông Tiến"
    )  # fmt: skip


def test_the_page_escapes_what_it_shows_and_links_only_http_urls() -> None:
    body = BODY | {"commonAnnotations": {"summary": "<script>x</script> Thanh Hóa"}}
    page = render([from_webhook(body)], None)
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt; Thanh Hóa" in page
    assert "href='http://127.0.0.1:3000/d/dx-units?var-unit=38'" in page and "javascript:" not in page
    assert "Chưa nhận Watchdog" in page


def test_the_api_lists_webhook_notifications_newest_first_and_records_the_watchdog(tmp_path) -> None:
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router)
    app.state.store = Store(tmp_path / "n.jsonl")
    client = TestClient(app)
    assert client.post("/alertmanager", json=BODY).status_code == 200
    assert client.post("/alertmanager", json=BODY | {"status": "resolved"}).status_code == 200
    assert client.post("/watchdog", json={}).status_code == 200
    listed = client.get("/api/notifications").json()
    assert [n["status"] for n in listed["notifications"]] == ["resolved", "firing"]
    assert listed["watchdog_at"] is not None
    again = Store(tmp_path / "n.jsonl")  # the file keeps them across a restart
    assert [n.status for n in again.newest_first()] == ["resolved", "firing"]
