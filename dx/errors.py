"""One line instead of a traceback: what failed and what to change. `dx/main.py` passes every command's exception
to `explain`; what it cannot explain (a bug) keeps its traceback.

Connection failures are told apart by the library whose frames the exception passed through (asyncpg, aiokafka,
httpx), so an `OSError` is attributed to PostgreSQL, Kafka or an HTTP service correctly, and the line names the
address tried and the settings that choose it."""

import socket
from collections.abc import Iterator
from types import TracebackType

import asyncpg
import httpx
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from dx.client import CollectorError
from shared.settings import Settings

CONNECTION_ERRORS = (OSError, TimeoutError, ConnectionError)


class CommandError(Exception):
    """Bad input or a refused operation, worded for the operator; `dx` prints it and exits 2."""


def explain(err: BaseException) -> str | None:
    """The one line for `err` (no newline in it), or None when it is not an operational failure."""
    line = _explain(err)
    return None if line is None else " ".join(line.split())


def _explain(err: BaseException) -> str | None:
    if isinstance(err, CommandError):
        return str(err)
    if isinstance(err, ValidationError) and _settings_error(err):
        return _bad_setting(err)
    settings = _settings()
    libraries = _libraries(err)
    if isinstance(err, asyncpg.PostgresError | asyncpg.InterfaceError) or (
        "asyncpg" in libraries and isinstance(err, CONNECTION_ERRORS)
    ):
        return _postgres(err, settings)
    if isinstance(err, KafkaError) or ("aiokafka" in libraries and isinstance(err, CONNECTION_ERRORS)):
        return (
            f"cannot reach Kafka at {settings.kafka_bootstrap} ({_reason(err)}): start it (`make up`, `make status`)"
            " or set DX_KAFKA_BOOTSTRAP (and DX_KAFKA_SECURITY_PROTOCOL / DX_KAFKA_SASL_* / DX_KAFKA_SSL_*)"
        )
    transport = next((e for e in _chain(err) if isinstance(e, httpx.TransportError)), None)
    if transport is not None:
        return _http(transport, settings)
    if isinstance(err, CollectorError):
        fix = "pass a valid --token (`dx sources add NAME`)" if " 401" in f" {err}" else "check the request"
        return f"the collector refused the request ({err}): {fix}"
    if isinstance(err, OSError) and err.filename is not None:
        return f"cannot use {err.filename}: {err.strerror or err}"
    return None


def _postgres(err: BaseException, settings: Settings) -> str:
    where = f"{settings.pg_host}:{settings.pg_port}"
    if isinstance(err, asyncpg.InvalidPasswordError):
        return f"PostgreSQL at {where} refused the login ({_reason(err)}): set DX_PG_USER / DX_PG_PASSWORD"
    if isinstance(err, asyncpg.InvalidCatalogNameError):
        return f"PostgreSQL at {where} has no database {settings.pg_database!r}: run `make up` or set DX_PG_DATABASE"
    if isinstance(err, asyncpg.UndefinedTableError):
        return f"the database schema is missing ({_reason(err)}): run `dx db migrate` (or `make up`)"
    if isinstance(err, socket.gaierror):
        return (
            f"the PostgreSQL host {settings.pg_host!r} does not resolve ({_reason(err)}): set DX_PG_HOST "
            "(127.0.0.1 on the host; container names such as 'postgres' resolve only inside Docker)"
        )
    if isinstance(err, asyncpg.PostgresError) and not isinstance(err, asyncpg.CannotConnectNowError):
        return f"PostgreSQL at {where} refused the operation: {_reason(err)}"
    return (
        f"cannot reach PostgreSQL at {where} ({_reason(err)}): start it (`make up`, `make status`) or set "
        "DX_PG_HOST / DX_PG_PORT (and DX_PG_SSLMODE for TLS)"
    )


def _http(err: httpx.TransportError, settings: Settings) -> str:
    try:
        url = err.request.url
    except RuntimeError:  # an error without its request
        return f"an HTTP service is unreachable ({_reason(err)})"
    base = f"{url.scheme}://{url.host}:{url.port}"
    named = {
        "DX_PROMETHEUS_URL": settings.prometheus_url,
        "DX_ALERTMANAGER_URL": settings.alertmanager_url,
        "DX_GRAFANA_URL": settings.grafana_url,
    }
    name = next((k for k, v in named.items() if httpx.URL(v).host == url.host and httpx.URL(v).port == url.port), None)
    service, fix = (name.removeprefix("DX_").removesuffix("_URL").title(), f"set {name}") if name else (
        "the collector", "start it (`make up`) or pass --collector-url / set DX_COLLECTOR_HOST and DX_COLLECTOR_PORT"
    )  # fmt: skip
    return f"cannot reach {service} at {base} ({_reason(err)}): {fix}"


def _bad_setting(err: ValidationError) -> str:
    problems = [f"DX_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in err.errors()]
    return f"invalid setting {'; '.join(problems)}: fix the environment variable or .env"


def _settings_error(err: ValidationError) -> bool:
    return err.title.endswith("Settings")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError:
        return Settings.model_construct()


def _reason(err: BaseException) -> str:
    root = next((e for e in reversed(list(_chain(err))) if str(e)), err)
    name, text = type(root).__name__, str(root)
    return text if text.startswith(name) else f"{name}: {text}" if text else name


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _libraries(err: BaseException) -> set[str]:
    """Top-level packages of every frame the exception (and its causes) passed through."""
    found: set[str] = set()
    for e in _chain(err):
        tb: TracebackType | None = e.__traceback__
        while tb is not None:
            found.add(str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0])
            tb = tb.tb_next
    return found
