"""`dx` against a PostgreSQL that answers but refuses: a wrong password, a missing database, a database without the
schema. One line naming the setting or the command that fixes it, exit 2."""

import pytest

from dx.main import main


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DX_PG_PASSWORD": "not-the-password"}, "refused the login"),
        ({"DX_PG_DATABASE": "dx_no_such_database"}, "has no database 'dx_no_such_database'"),
        ({"DX_PG_DATABASE": "postgres"}, "the database schema is missing"),
    ],
    ids=["password", "database", "schema"],
)
def test_postgresql_refusals_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str], says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["status"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dx status: ") and says in lines[0], lines
