"""The collector's HTTP connections under abuse: uvicorn's h11 protocol with a header deadline and a connection cap.

uvicorn arms its keep-alive timer only after a response, so a socket that never sends a request (or sends its
headers a byte at a time) is held forever, and nothing bounds the number of sockets: about 1,000 idle ones exhaust a
1,024 file-descriptor limit and the process stops accepting. Here:
- every request's headers must be complete within `header_timeout` seconds of the connection opening or of the end
  of the previous response (from the first byte, never reset by more bytes); else the connection is closed (408
  when part of a request had arrived);
- at most `max_connections` connections are open; a connection beyond that closes the one that has waited longest
  for headers (an idle or slow one), so a client that sends its request at once is always served; when every
  connection is busy with a request, the newcomer is closed.
The body has its own deadline in the handler (`collector_body_timeout_s`, services/collector/api.py).
"""

import asyncio
import resource
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

RESERVED_FDS = 64  # file descriptors kept for PostgreSQL, Kafka, logs and reference data
# asyncio accepts up to `backlog` sockets in one go before any of them reaches connection_made (where the cap acts),
# so the cap leaves that many descriptors free too; an accept() that fails with EMFILE stops accepting for 1 s
ACCEPT_BACKLOG = 128
TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def connection_cap(wanted: int) -> int:
    """`wanted`, lowered to what the process's file-descriptor limit leaves after the reserve and the backlog."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - RESERVED_FDS - ACCEPT_BACKLOG))


@dataclass
class EdgeLimits:
    header_timeout: float
    max_connections: int
    waiting: "OrderedDict[GuardedH11Protocol, None]" = field(default_factory=OrderedDict)  # oldest first
    evicted: int = 0  # connections closed to make room (for tests and logs)
    refused: int = 0  # connections closed on arrival: every slot busy with a request
    timed_out: int = 0


class GuardedH11Protocol(H11Protocol):
    """H11Protocol with the header deadline and the connection cap of `limits` (set by `guarded_protocol`)."""

    limits: EdgeLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        full = len(self.connections) >= self.limits.max_connections
        super().connection_made(transport)
        if full and not self._evict_oldest_waiting():
            self.limits.refused += 1
            transport.abort()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in (or the connection is done with)
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            self._disarm()
        else:  # waiting for the next request on a kept-alive connection
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.limits.header_timeout, self._expire)
        self.limits.waiting[self] = None

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.limits.waiting.pop(self, None)

    def _expire(self) -> None:
        self._deadline = None
        self.limits.waiting.pop(self, None)
        if self.transport.is_closing():
            return
        self.limits.timed_out += 1
        if self.conn.trailing_data[0]:  # part of a request arrived: say why the connection ends
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()

    def _evict_oldest_waiting(self) -> bool:
        while self.limits.waiting:
            oldest, _ = self.limits.waiting.popitem(last=False)
            oldest._disarm()
            if not oldest.transport.is_closing():
                oldest.transport.abort()
                self.limits.evicted += 1
                return True
        return False


def guarded_protocol(limits: EdgeLimits) -> type[GuardedH11Protocol]:
    """A protocol class for uvicorn's `http=` bound to `limits` (one per server)."""
    return type("CollectorH11Protocol", (GuardedH11Protocol,), {"limits": limits})
