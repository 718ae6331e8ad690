"""PostgreSQL over TLS: a private cluster with ssl=on (deploy/local/postgres.sh with DX_PG_TLS_DIR; certificates made
by the test with openssl). With DX_PG_SSLMODE=verify-full the migrations, the collector and the aggregator connect
over TLS, the server's certificate checked against DX_PG_SSLROOTCERT; a server that another CA signed is refused; a
client certificate is presented when configured; sslmode=disable stays plaintext (the loopback default)."""

import ssl
import uuid
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest

from shared.adapters.migrate import migrate
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from tests.integration.collector.support import ratio_event
from tests.reliability.support import add_source, aggregator, applied_count, base_url, collector, fetch
from tests.support.env import eventually
from tests.support.infra import PrivateInstance
from tests.support.tls import Pki, make_pki

pytestmark = pytest.mark.e2e

MY_SSL = "SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


async def _ssl_of(settings: Settings, role: str = "app") -> tuple[bool, str | None]:
    conn = await asyncpg.connect(settings.pg_dsn(role))
    try:
        row = await conn.fetchrow(MY_SSL)
        assert row is not None
        return row["ssl"], row["client_dn"]
    finally:
        await conn.close()


async def test_services_use_verify_full_and_a_server_of_another_ca_is_refused(
    isolated: Settings, private_postgres_tls: PrivateInstance, pg_pki: Pki, tmp_path: Path
) -> None:
    settings = isolated.model_copy(update={
        "pg_port": private_postgres_tls.port, "pg_database": "dxmon", "pg_sslmode": "verify-full",
        "pg_sslrootcert": pg_pki.ca,
    })  # fmt: skip
    await migrate(settings, load_catalog(), load_hierarchy())
    assert await _ssl_of(settings, "owner") == (True, None)
    assert await _ssl_of(settings.model_copy(update={"pg_sslmode": "disable"})) == (False, None)
    with_cert = settings.model_copy(update={"pg_sslcert": pg_pki.client_cert, "pg_sslkey": pg_pki.client_key})
    assert await _ssl_of(with_cert) == (True, "/CN=dx-client")

    other_ca = make_pki(tmp_path / "other", ca_name="not-our-ca").ca
    with pytest.raises(ssl.SSLCertVerificationError):
        await _ssl_of(settings.model_copy(update={"pg_sslrootcert": other_ca}))

    auth = await add_source(settings, "tls")
    coll = collector(settings).start()
    agg = aggregator(settings, f"agg-pg-tls-{uuid.uuid4().hex[:8]}").start()
    try:
        async with httpx.AsyncClient(base_url=base_url(coll), headers=auth, timeout=30) as client:
            response = await client.post("/v1/events", content=orjson.dumps([ratio_event(unit="14758")]))
        assert response.status_code == 202, response.text

        async def applied() -> bool:
            return await applied_count(settings) == 1

        await eventually(applied, timeout=60)
        for role in ("collector", "aggregator"):  # a role sees the connection details of its own sessions only
            rows = await fetch(
                settings,
                "SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)"
                " WHERE a.usename = $1 AND a.pid <> pg_backend_pid()",
                getattr(settings, f"pg_{role}_user"),
                role=role,
            )
            assert rows and all(r["ssl"] for r in rows), (role, rows)  # every connection of the service is encrypted
    finally:
        agg.stop()
        coll.stop()
