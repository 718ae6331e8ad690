"""Tokens: format, constant-time check against the stored hash, revocation, the lookup cache."""

from datetime import UTC, datetime

import pytest

from services.collector.sources import (
    AuthError,
    LookupDeferred,
    Source,
    Sources,
    hash_secret,
    new_token,
    parse_authorization,
)
from shared.domain.validation import Scope


class FakeRepo:
    def __init__(self) -> None:
        self.rows: dict[str, Source] = {}
        self.lookups = 0

    async def by_token_id(self, token_id: str) -> Source | None:
        self.lookups += 1
        return self.rows.get(token_id)

    async def by_name(self, name: str) -> Source | None:
        self.lookups += 1
        return next((s for s in self.rows.values() if s.name == name), None)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def issue(repo: FakeRepo, name: str = "portal", revoked: bool = False) -> str:
    token, token_id, token_hash = new_token()
    revoked_at = datetime(2025, 1, 1, tzinfo=UTC) if revoked else None
    repo.rows[token_id] = Source(name, token_id, token_hash, Scope(), revoked_at=revoked_at)
    return token


def test_a_token_carries_its_id_and_only_the_secret_hash_is_kept():
    token, token_id, token_hash = new_token()
    parsed_id, secret = parse_authorization(f"Bearer {token}")
    assert parsed_id == token_id
    assert hash_secret(secret) == token_hash
    assert secret not in token_hash.hex()


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer dxs_zz_abc", "Bearer token"])
def test_missing_or_malformed_authorization_is_refused(header):
    with pytest.raises(AuthError):
        parse_authorization(header)


async def test_the_right_token_authenticates_its_source():
    repo = FakeRepo()
    token = issue(repo)
    assert (await Sources(repo, ttl=5).authenticate(f"Bearer {token}")).name == "portal"


async def test_a_wrong_secret_or_an_unknown_id_is_refused():
    repo = FakeRepo()
    token = issue(repo)
    sources = Sources(repo, ttl=5)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthError, match="unknown token"):
        await sources.authenticate(f"Bearer {forged}")
    with pytest.raises(AuthError, match="unknown token"):
        await sources.authenticate("Bearer " + new_token()[0])


async def test_a_revoked_token_is_refused():
    repo = FakeRepo()
    token = issue(repo, revoked=True)
    with pytest.raises(AuthError, match="revoked"):
        await Sources(repo, ttl=5).authenticate(f"Bearer {token}")


async def test_lookups_are_cached_for_the_ttl_then_refreshed():
    repo, clock = FakeRepo(), Clock()
    token = issue(repo)
    sources = Sources(repo, ttl=5, clock=clock)
    for _ in range(3):
        await sources.authenticate(f"Bearer {token}")
    assert repo.lookups == 1
    token_id = parse_authorization(f"Bearer {token}")[0]
    del repo.rows[token_id]  # e.g. revoked in the database
    clock.now = 4.9
    await sources.authenticate(f"Bearer {token}")
    clock.now = 5.1
    with pytest.raises(AuthError):
        await sources.authenticate(f"Bearer {token}")
    assert repo.lookups == 2


def random_token() -> str:
    return "Bearer " + new_token()[0]


async def refused(sources: Sources, header: str) -> str:
    try:
        await sources.authenticate(header)
    except (AuthError, LookupDeferred) as err:
        return type(err).__name__
    raise AssertionError("accepted")


async def test_a_flood_of_random_token_ids_evicts_no_real_source():
    repo, clock = FakeRepo(), Clock()
    token = issue(repo)
    sources = Sources(repo, ttl=60, clock=clock, lookups_per_s=1e9)
    await sources.authenticate(f"Bearer {token}")
    for _ in range(20_000):  # twice the size at which the old cache started afresh
        assert await refused(sources, random_token()) == "AuthError"
    before = repo.lookups
    assert (await sources.authenticate(f"Bearer {token}")).name == "portal"
    assert repo.lookups == before  # still cached: no lookup


async def test_an_unknown_id_is_cached_as_unknown_and_the_oldest_unknown_goes_first():
    repo, clock = FakeRepo(), Clock()
    sources = Sources(repo, ttl=60, clock=clock, lookups_per_s=1e9)
    header = random_token()
    assert [await refused(sources, header) for _ in range(3)] == ["AuthError"] * 3
    assert repo.lookups == 1


async def test_never_seen_ids_beyond_the_lookup_budget_are_deferred_without_a_lookup():
    repo, clock = FakeRepo(), Clock()
    token = issue(repo)
    sources = Sources(repo, ttl=5, clock=clock, lookups_per_s=10)
    await sources.authenticate(f"Bearer {token}")  # spends one of the 10
    answers = [await refused(sources, random_token()) for _ in range(20)]
    assert answers == ["AuthError"] * 9 + ["LookupDeferred"] * 11
    assert repo.lookups == 10
    # the real source's entry expires while the budget is empty: it is looked up again at once (a revocation
    # takes effect on time), never deferred
    clock.now = 5.01
    assert [await refused(sources, random_token()) for _ in range(11)] == ["AuthError"] * 10 + ["LookupDeferred"]
    token_id = parse_authorization(f"Bearer {token}")[0]
    repo.rows[token_id] = Source("portal", token_id, repo.rows[token_id].token_hash, Scope(),
                                 revoked_at=datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip
    with pytest.raises(AuthError, match="revoked"):
        await sources.authenticate(f"Bearer {token}")
    clock.now = 6.01  # the budget refills: new ids are looked up again
    assert await refused(sources, random_token()) == "AuthError"
