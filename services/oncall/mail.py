"""SMTP side of the on-call receiver: an inbox Alertmanager's e-mail receiver delivers to (aiosmtpd)."""

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from services.oncall.notifications import from_email, one_line
from services.oncall.store import Store

log = logging.getLogger("oncall")


class Inbox:
    """aiosmtpd handler: every message accepted is one notification."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        n = from_email(data)
        self.store.add(n)
        log.warning("%s (to %s)", one_line(n), ", ".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


async def start_smtp(store: Store, host: str, port: int) -> asyncio.Server:
    """Serve SMTP on the running loop (no thread): plain SMTP, as on a loopback relay or a private network."""
    loop = asyncio.get_running_loop()
    handler: Any = Inbox(store)
    return await loop.create_server(lambda: SMTP(handler, enable_SMTPUTF8=True, hostname="dxmon-oncall"), host, port)
