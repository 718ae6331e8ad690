"""Settings with URL-special characters connect: every part of the DSN is percent-encoded (a password such as
"p@ss/word#1" once made asyncpg connect to the host "ss")."""

import uuid

import asyncpg

from shared.adapters.postgres import connect
from shared.settings import Settings

SPECIAL = "p@ss/word#1:?&="


async def test_a_database_whose_name_has_url_characters_connects(settings: Settings) -> None:
    name = f"dxt_{uuid.uuid4().hex[:8]}_{SPECIAL}"
    owner = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        await owner.execute(f'CREATE DATABASE "{name}"')
        conn = await connect(settings.model_copy(update={"pg_database": name}), role="owner")
        try:
            assert await conn.fetchval("SELECT current_database()") == name
        finally:
            await conn.close()
    finally:
        await owner.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await owner.close()


def test_the_dsn_encodes_user_password_and_database() -> None:
    settings = Settings(pg_user="a@b", pg_password=SPECIAL, pg_database="db/x")
    assert settings.pg_dsn() == "postgresql://a%40b:p%40ss%2Fword%231%3A%3F%26%3D@127.0.0.1:5432/db%2Fx?sslmode=prefer"
