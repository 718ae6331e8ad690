"""Connector files are validated at start-up: every mistake names the file and the field; secrets never print."""

from pathlib import Path

import pytest

from services.pull.config import ConnectorConfigError, load_connector, load_connectors

GOOD = """
kind = "http"
schedule = { every = "5m" }
[source]
name = "portal-dvc"
token = { env = "DX_TEST_PULL_TOKEN" }
[http]
url = "http://127.0.0.1:9/report"
records = "data"
[mapping]
constants = { indicator = "gov.level4_procedures_online" }
fields = { unit = "ma_xa", observed_at = "ngay", numerator = "so", denominator = "tong" }
"""


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DX_TEST_PULL_TOKEN", "dxs_abc_topsecretvalue")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads_and_its_token_never_prints(tmp_path: Path) -> None:
    connector = load_connector(_write(tmp_path, "portal.toml", GOOD))
    assert connector.name == "portal" and connector.spec.http is not None
    assert connector.token.get_secret_value() == "dxs_abc_topsecretvalue"
    assert "topsecret" not in repr(connector) and "topsecret" not in str(connector)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (('url = "http', 'urll = "http'), "http.urll", "unknown field"),
        (('records = "data"', 'records = "data"\nurl2 = 1'), "http.url2", "unknown field"),
        (('every = "5m"', 'every = "5 minutes"'), "schedule.every", "not a duration"),
        (('{ every = "5m" }', '{ cron = "61 * * * *" }'), "schedule.cron", "not a cron expression"),
        (('kind = "http"', 'kind = "ftp"'), "kind", "'http', 'files' or 'sql'"),
        (('name = "portal-dvc"', 'name = "Portal DVC"'), "source.name", "should match pattern"),
        (("observed_at = ", "observed_on = "), "mapping", "unknown event field(s) observed_on"),
        (('env = "DX_TEST_PULL_TOKEN"', 'env = "DX_TEST_PULL_UNSET"'), "source.token", "DX_TEST_PULL_UNSET is not set"),
        (("[http]", "[sql]"), "sql.dsn", "field required"),
        (("[mapping]", "[mappings]"), "mappings", "unknown field"),
    ],
)
def test_a_mistake_names_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], field: str, message: str
) -> None:
    assert change[0] in GOOD
    path = _write(tmp_path, "portal.toml", GOOD.replace(*change))
    with pytest.raises(ConnectorConfigError) as caught:
        load_connector(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and f"{field}: " in text and message.lower() in text.lower(), text
    assert "topsecret" not in text


def test_a_secret_header_written_in_the_file_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('records = "data"', 'records = "data"\nheaders = { Authorization = "Bearer x" }')
    with pytest.raises(ConnectorConfigError, match=r"http\.headers: .*declare it in \[http\.auth\]"):
        load_connector(_write(tmp_path, "portal.toml", text))


def test_one_bad_file_refuses_the_folder_and_every_bad_file_is_listed(tmp_path: Path) -> None:
    _write(tmp_path, "good.toml", GOOD)
    bad = _write(tmp_path, "bad.toml", GOOD.replace("records =", "recods ="))
    broken = _write(tmp_path, "broken.toml", "kind = ")
    with pytest.raises(ConnectorConfigError) as caught:
        load_connectors(tmp_path)
    text = str(caught.value)
    assert f"{bad}: http.recods: unknown field" in text and f"{broken}: not valid TOML" in text


def test_a_sql_query_must_read_with_the_cursor(tmp_path: Path) -> None:
    text = GOOD.replace("[http]", "[sql]").replace('kind = "http"', 'kind = "sql"')
    text = text.replace('url = "http://127.0.0.1:9/report"\nrecords = "data"', (
        'dsn = { env = "DX_TEST_PULL_TOKEN" }\nquery = "DELETE FROM x WHERE t > :cursor"\n'
        'cursor_column = "t"\ncursor_start = "0"'))  # fmt: skip
    with pytest.raises(ConnectorConfigError, match=r"sql\.query: the query must be a SELECT"):
        load_connector(_write(tmp_path, "db.toml", text))


def test_the_shipped_examples_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DX_PULL_TOKEN_PORTAL_DVC", "x")
    monkeypatch.setenv("DX_PULL_TOKEN_SO_TAI_CHINH", "y")
    root = Path(__file__).resolve().parents[3] / "deploy" / "connectors"
    assert {c.name for c in load_connectors(root / "examples")} == {"portal-dvc", "so-tai-chinh"}
    assert load_connectors(root) == []  # `make up` runs the pull collector with no connector


def test_every_secret_is_checked_at_start_up_not_at_the_first_run(tmp_path: Path) -> None:
    text = GOOD.replace('records = "data"', 'records = "data"\nauth = { secret = { file = "missing.secret" } }')
    with pytest.raises(ConnectorConfigError, match=r"portal\.toml: http\.auth\.secret: cannot read .*missing\.secret"):
        load_connector(_write(tmp_path, "portal.toml", text))


def test_credentials_in_the_url_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace("http://127.0.0.1:9/report", "http://user:secret@127.0.0.1:9/report")
    with pytest.raises(ConnectorConfigError, match=r"http\.url: String should match pattern"):
        load_connector(_write(tmp_path, "portal.toml", text))
