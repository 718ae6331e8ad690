"""Sources and their tokens. A token is `dxs_<token_id>_<secret>`: the id finds the row, the secret is
stored only as its SHA-256 and compared in constant time. Tokens are printed once and never logged.

Lookups are cached for `ttl` seconds (default 5): a revoked token stops working within that time.
"""

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg

from services.collector.ratelimit import RateLimiter
from shared.contracts.events import SOURCE_NAME_PATTERN
from shared.domain.validation import Scope

TOKEN_PREFIX = "dxs"
NAME_PATTERN = re.compile(SOURCE_NAME_PATTERN)
_TOKEN = re.compile(r"^dxs_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_KNOWN_MAX = 100_000
_UNKNOWN_MAX = 100_000


@dataclass(frozen=True)
class Source:
    name: str
    token_id: str
    token_hash: bytes
    scope: Scope
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    expires_at: datetime | None = None  # a tool's source: its lease (dx/tokens.py)

    def refusal(self, now: datetime) -> str | None:
        """Why the source may not write now ("revoked", "expired"), or None."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return None


class AuthError(Exception):
    """401: the message says what is wrong, never the token."""


class SourceRepository(Protocol):
    async def by_token_id(self, token_id: str) -> Source | None: ...

    async def by_name(self, name: str) -> Source | None: ...


def new_token() -> tuple[str, str, bytes]:
    """(token, token_id, sha256 of the secret)."""
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}_{token_id}_{secret}", token_id, hash_secret(secret)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_authorization(header: str | None) -> tuple[str, str]:
    """(token_id, secret) of an `Authorization: Bearer dxs_…` header."""
    if not header:
        raise AuthError("missing Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    match = _TOKEN.fullmatch(token.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise AuthError("malformed token: expected Authorization: Bearer dxs_<id>_<secret>")
    return match.group(1), match.group(2)


class LookupDeferred(Exception):
    """503: too many lookups of credentials never seen before right now; the client retries shortly."""


class _TtlCache:
    """Answers for `ttl` seconds. Found sources and unknown keys are kept apart: unknown keys (anyone can invent
    them) are bounded and dropped least recently used first, so a flood of random ids never evicts a real source."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl, self.clock = ttl, clock
        self._known: dict[str, tuple[float, Source]] = {}  # keys that matched a row: bounded by the sources table
        self._unknown: OrderedDict[str, float] = OrderedDict()

    def get(self, key: str) -> tuple[bool, Source | None]:
        now = self.clock()
        hit = self._known.get(key)
        if hit is not None and hit[0] >= now:
            return True, hit[1]
        miss = self._unknown.get(key)
        if miss is not None and miss >= now:
            self._unknown.move_to_end(key)
            return True, None
        return False, None

    def was_known(self, key: str) -> bool:
        """The key matched a source at some point (its entry may have expired)."""
        return key in self._known

    def put(self, key: str, value: Source | None) -> None:
        expires = self.clock() + self.ttl
        if value is None:
            self._known.pop(key, None)
            self._unknown[key] = expires
            self._unknown.move_to_end(key)
            if len(self._unknown) > _UNKNOWN_MAX:
                self._unknown.popitem(last=False)
            return
        self._unknown.pop(key, None)
        if key not in self._known and len(self._known) >= _KNOWN_MAX:
            self._known.pop(next(iter(self._known)))
        self._known[key] = (expires, value)


class Sources:
    """Authentication and lookups by name, over a repository, with a short cache (negative answers too).

    A token id never seen before costs a repository lookup, at most `lookups_per_s` of them per second (a flood of
    random ids costs the credential store that much and no more); beyond that `authenticate` raises
    LookupDeferred. Ids that matched a source before are looked up again when their entry expires, outside that
    budget, so a flood never delays a real source nor its revocation."""

    def __init__(
        self, repo: SourceRepository, ttl: float, clock: Callable[[], float] = time.monotonic,
        lookups_per_s: float = 100.0,
    ) -> None:  # fmt: skip
        self.repo = repo
        self._by_id = _TtlCache(ttl, clock)
        self._by_name = _TtlCache(ttl, clock)
        self._budget = RateLimiter(lookups_per_s, lookups_per_s, clock)

    async def authenticate(self, authorization: str | None) -> Source:
        token_id, secret = parse_authorization(authorization)
        found, source = self._by_id.get(token_id)
        if not found:
            if not self._by_id.was_known(token_id) and self._budget.take("token lookups", 1):
                raise LookupDeferred("too many unknown tokens are being tried; retry in a second")
            source = await self.repo.by_token_id(token_id)
            self._by_id.put(token_id, source)
        if source is None or not hmac.compare_digest(source.token_hash, hash_secret(secret)):
            raise AuthError("unknown token")
        refusal = source.refusal(datetime.now(UTC))
        if refusal is not None:
            raise AuthError(f"{refusal} token")
        return source

    async def named(self, name: str) -> Source | None:
        found, source = self._by_name.get(name)
        if not found:
            source = await self.repo.by_name(name)
            self._by_name.put(name, source)
        return source


COLUMNS = "name, token_id, token_hash, indicators, units, created_at, revoked_at, expires_at"


def row_to_source(row: asyncpg.Record | None) -> Source | None:
    if row is None:
        return None
    indicators, units = row["indicators"], row["units"]
    scope = Scope(
        frozenset(indicators) if indicators is not None else None, frozenset(units) if units is not None else None
    )
    return Source(row["name"], row["token_id"], bytes(row["token_hash"]), scope, row["created_at"], row["revoked_at"],
                  row["expires_at"])  # fmt: skip


class PgSources:
    """The collector's request-path lookups in the `sources` table; administration is dx/sources.py."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def by_token_id(self, token_id: str) -> Source | None:
        return row_to_source(await self.pool.fetchrow(f"SELECT {COLUMNS} FROM sources WHERE token_id = $1", token_id))

    async def by_name(self, name: str) -> Source | None:
        return row_to_source(await self.pool.fetchrow(f"SELECT {COLUMNS} FROM sources WHERE name = $1", name))
