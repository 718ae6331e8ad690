"""Turn what Alertmanager sends (a webhook body, an e-mail) into a Notification. Pure: no I/O."""

import email
from email import policy
from typing import Any

from services.oncall.store import Notification


def from_webhook(body: dict[str, Any]) -> Notification:
    """One webhook body (Alertmanager's version 4 payload) is one alert group."""
    alerts = [
        {
            "status": a.get("status", ""),
            "labels": a.get("labels", {}),
            "annotations": a.get("annotations", {}),
            "startsAt": a.get("startsAt", ""),
            "endsAt": a.get("endsAt", ""),
        }
        for a in body.get("alerts", [])
    ]
    common = body.get("commonAnnotations", {})
    groups = body.get("groupLabels", {})
    title = common.get("summary") or ", ".join(f"{k}={v}" for k, v in sorted(groups.items())) or "(no summary)"
    lines = [
        f"{a['labels'].get('alertname', '?')} [{a['status']}] {a['annotations'].get('summary', '')}".rstrip()
        for a in alerts
    ]
    return Notification("webhook", str(body.get("status", "")), title, "\n".join(lines), alerts=alerts)


def from_email(raw: bytes) -> Notification:
    """Decode an e-mail as sent (RFC 2047 subject, quoted-printable or base64 body) into readable text."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    subject = str(msg.get("Subject", ""))
    part = msg.get_body(preferencelist=("plain", "html"))
    text = part.get_content() if part is not None else ""
    status = "resolved" if "(resolved)" in subject else "firing"
    return Notification("email", status, subject, str(text).strip())


def one_line(n: Notification) -> str:
    """The terminal line: channel, status, title."""
    return f"[{n.channel}] {n.status.upper()}: {n.title}"
