"""Connectors declared as data: one TOML file per connector (docs/connectors.md), validated at start-up.

Every mistake is reported with the file and the field (`portal.toml: http.urll: unknown field`), and a folder with
one bad file refuses to start: a connector silently left out would look like a source that stopped reporting.
Secrets are never written in the file itself: they are named (`*_env` an environment variable, `*_file` a file)
and read into `SecretStr`, which prints as `**********`.
"""

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from shared.contracts.events import SOURCE_NAME_PATTERN

EVENT_FIELDS = ("indicator", "unit", "observed_at", "numerator", "denominator", "value", "period")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ConnectorConfigError(ValueError):
    """A connector file cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(text: str) -> timedelta:
    """'30s', '5m', '2h', '1d'."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


class Schedule(_Strict):
    """Exactly one of `every` (an interval, ticks aligned on the Unix epoch) or `cron` (5 fields, UTC)."""

    every: str | None = None
    cron: str | None = None

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                CronSim(value, _EPOCH)
            except CronSimError as err:
                raise ValueError(f"{value!r} is not a cron expression: {err}") from err
        return value

    @model_validator(mode="after")
    def _one(self) -> "Schedule":
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of every (e.g. '5m') or cron (e.g. '0 6 * * *')")
        return self


class Secret(_Strict):
    """Where a secret is read from: an environment variable or a file (its first line)."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> "Secret":
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env (a variable name) or file (a path)")
        return self

    def read(self) -> SecretStr:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ValueError(f"environment variable {self.env} is not set")
            return SecretStr(value)
        assert self.file is not None
        try:
            return SecretStr(self.file.read_text(encoding="utf-8").strip())
        except OSError as err:
            raise ValueError(f"cannot read {self.file}: {err.strerror}") from err


class Source(_Strict):
    """The registered dxmon source the connector acts as (`dx sources add NAME`): its scope and rate limit apply."""

    name: Annotated[str, Field(pattern=SOURCE_NAME_PATTERN)]
    token: Secret


class Mapping(_Strict):
    """From a fetched record to an event: `fields` name record paths (dotted: `a.b.0.c`), `constants` fixed values.

    `identity` lists the record paths that identify a record; default: every mapped path (then a record whose
    figures change is a new event, the same record fetched again the same event)."""

    fields: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, str | int | float] = Field(default_factory=dict)
    identity: list[str] | None = None

    @model_validator(mode="after")
    def _complete(self) -> "Mapping":
        unknown = sorted(set(self.fields) - set(EVENT_FIELDS)) + sorted(set(self.constants) - set(EVENT_FIELDS))
        if unknown:
            raise ValueError(f"unknown event field(s) {', '.join(unknown)}; expected {', '.join(EVENT_FIELDS)}")
        both = sorted(set(self.fields) & set(self.constants))
        if both:
            raise ValueError(f"{', '.join(both)} given both as a field and as a constant")
        given = set(self.fields) | set(self.constants)
        missing = [f for f in ("indicator", "unit", "observed_at") if f not in given]
        if missing:
            raise ValueError(f"missing {', '.join(missing)} (in fields or constants)")
        if not ({"value", "numerator"} & given):
            raise ValueError("map value, or numerator and denominator")
        return self

    @property
    def identity_paths(self) -> list[str]:
        return self.identity if self.identity is not None else sorted(self.fields.values())


class HttpAuth(_Strict):
    header: str = "Authorization"
    prefix: str = "Bearer "
    secret: Secret


class Pagination(_Strict):
    """`next` a body path holding the next page's URL, or `page_param` a query parameter counted from `first`."""

    next: str | None = None
    page_param: str | None = None
    first: int = 1
    max_pages: int = Field(100, gt=0)

    @model_validator(mode="after")
    def _one(self) -> "Pagination":
        if (self.next is None) == (self.page_param is None):
            raise ValueError("give exactly one of next (a body path) or page_param (a query parameter)")
        return self


class HttpKind(_Strict):
    url: Annotated[str, Field(pattern=r"^https?://[^/@]+(/|$)")]  # no user:password@ (URLs are logged)
    format: Literal["json", "csv"] = "json"
    records: str = Field("", description="body path of the list of records (JSON); empty: the body is the list")
    headers: dict[str, str] = Field(default_factory=dict)
    auth: HttpAuth | None = None
    pagination: Pagination | None = None
    conditional: bool = Field(True, description="send If-None-Match / If-Modified-Since from the last success")

    @field_validator("headers")
    @classmethod
    def _no_secrets(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if name.lower() in ("authorization", "cookie", "x-api-key"):
                raise ValueError(f"header {name} carries a secret: declare it in [http.auth]")
        return headers


class FilesKind(_Strict):
    folder: Path
    patterns: list[str] = Field(default_factory=lambda: ["*.csv", "*.xlsx"])
    settle_seconds: float = Field(5.0, ge=0, description="a file changed more recently is left for the next run")
    done: Path | None = Field(None, description="default: <folder>/done")
    failed: Path | None = Field(None, description="default: <folder>/failed")

    @property
    def done_dir(self) -> Path:
        return self.done or self.folder / "done"

    @property
    def failed_dir(self) -> Path:
        return self.failed or self.folder / "failed"


class SqlKind(_Strict):
    dsn: Secret
    query: str = Field(description="read-only SELECT; `:cursor` stands for the last cursor value")
    cursor_column: str
    cursor_start: str

    @field_validator("query")
    @classmethod
    def _query(cls, query: str) -> str:
        if query.count(":cursor") != 1:
            raise ValueError("the query must use :cursor exactly once, e.g. WHERE updated_at > :cursor")
        if not re.match(r"^\s*(select|with)\b", query, re.IGNORECASE):
            raise ValueError("the query must be a SELECT (or WITH … SELECT)")
        return query


class ConnectorSpec(_Strict):
    """One connector file."""

    kind: Literal["http", "files", "sql"]
    description: str = ""
    enabled: bool = True
    schedule: Schedule
    source: Source
    mapping: Mapping | None = None
    timeout: str = "30s"
    http: HttpKind | None = None
    files: FilesKind | None = None
    sql: SqlKind | None = None

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _kind_section(self) -> "ConnectorSpec":
        sections = {k: getattr(self, k) for k in ("http", "files", "sql")}
        extra = [k for k, v in sections.items() if v is not None and k != self.kind]
        if sections[self.kind] is None:
            raise ValueError(f"kind = {self.kind!r} needs a [{self.kind}] section")
        if extra:
            raise ValueError(f"section(s) [{', '.join(extra)}] do not belong to kind = {self.kind!r}")
        if self.kind != "files" and self.mapping is None:
            raise ValueError(f"kind = {self.kind!r} needs a [mapping] section")
        if self.kind == "files" and self.mapping is not None:
            raise ValueError("files are in the import format (docs/connectors.md): no [mapping]")
        return self


@dataclass(frozen=True)
class Connector:
    """A validated connector: its name (the file's stem), where it came from, the spec and its source token."""

    name: str
    path: Path
    spec: ConnectorSpec
    token: SecretStr

    @property
    def timeout_s(self) -> float:
        return parse_duration(self.spec.timeout).total_seconds()


_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def load_connector(path: Path) -> Connector:
    """One file → a Connector, or ConnectorConfigError naming the file and the field."""
    name = path.stem
    if not _NAME.fullmatch(name):
        raise ConnectorConfigError(f"{path}: file name: {name!r} must be lower-case letters, digits, '-', '_'")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ConnectorConfigError(f"{path}: cannot read: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConnectorConfigError(f"{path}: not valid TOML: {err}") from err
    _resolve_paths(doc, path.parent)
    try:
        spec = ConnectorSpec.model_validate(doc)
    except ValidationError as err:
        raise ConnectorConfigError(f"{path}: " + "; ".join(_describe(e) for e in err.errors())) from None
    secrets = {"source.token": spec.source.token}
    if spec.http is not None and spec.http.auth is not None:
        secrets["http.auth.secret"] = spec.http.auth.secret
    if spec.sql is not None:
        secrets["sql.dsn"] = spec.sql.dsn
    read: dict[str, SecretStr] = {}
    for where, secret in secrets.items():
        try:
            read[where] = secret.read()
        except ValueError as err:
            raise ConnectorConfigError(f"{path}: {where}: {err}") from None
    return Connector(name, path, spec, read["source.token"])


def load_connectors(folder: Path) -> list[Connector]:
    """Every `*.toml` in `folder`, sorted by name; ConnectorConfigError listing every bad file."""
    if not folder.is_dir():
        raise ConnectorConfigError(f"{folder}: connectors folder not found")
    connectors, problems = [], []
    for path in sorted(folder.glob("*.toml")):
        try:
            connectors.append(load_connector(path))
        except ConnectorConfigError as err:
            problems.append(str(err))
    if problems:
        raise ConnectorConfigError("\n".join(problems))
    return connectors


def find_connector(folder: Path, name: str) -> Connector:
    path = folder / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.toml"))) or "none"
        raise ConnectorConfigError(f"no connector {name!r} in {folder} (known: {known})")
    return load_connector(path)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "file"
    message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
    return f"{where}: {message.removeprefix('Value error, ')}"


def _resolve_paths(doc: dict[str, Any], base: Path) -> None:
    """Relative paths in a connector file are relative to the file's folder."""

    def fix(section: Any, key: str) -> None:
        if isinstance(section, dict) and isinstance(section.get(key), str) and not Path(section[key]).is_absolute():
            section[key] = str(base / section[key])

    files = doc.get("files")
    for key in ("folder", "done", "failed"):
        fix(files, key)
    for secret in (
        (doc.get("source") or {}).get("token") if isinstance(doc.get("source"), dict) else None,
        ((doc.get("http") or {}).get("auth") or {}).get("secret") if isinstance(doc.get("http"), dict) else None,
        (doc.get("sql") or {}).get("dsn") if isinstance(doc.get("sql"), dict) else None,
    ):
        fix(secret, "file")
