"""Read the generated dashboards back: every query of every panel and variable, and Grafana's macro expansion
for the SQL ones, so tests can run them against the real Prometheus and PostgreSQL."""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from services.dashboards import datasources
from services.dashboards.common import Json


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str  # panel title or "variable <name>"
    kind: str  # "promql" | "sql"
    text: str
    datasource_uid: str


def queries(dashboard: Json) -> Iterator[Query]:
    """Every panel target, every query variable and every annotation query of one dashboard, panels in order."""
    title = dashboard["title"]
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            uid = var.get("datasource", {}).get("uid", "")
            yield Query(title, f"variable {var['name']}", _kind(uid), str(var["query"]), uid)
    for note in dashboard.get("annotations", {}).get("list", []):
        if "target" in note and "rawSql" in note["target"]:
            uid = note.get("datasource", {}).get("uid", "")
            yield Query(title, f"annotation {note['name']}", _kind(uid), str(note["target"]["rawSql"]), uid)
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            uid = target.get("datasource", {}).get("uid", "")
            text = target.get("rawSql") if _kind(uid) == "sql" else target.get("expr")
            yield Query(title, f"{panel.get('title')} [{target.get('refId')}]", _kind(uid), str(text), uid)


@dataclass(frozen=True)
class Link:
    """A data link of one panel column (or of the whole panel: column "")."""

    dashboard: str
    panel: Json
    column: str
    url: str

    @property
    def target_uid(self) -> str:
        return urlsplit(self.url).path.strip("/").split("/")[1]

    def params(self) -> dict[str, str]:
        """The link's query parameters (`var-unit`, …) with their unresolved values."""
        query = urlsplit(self.url).query
        return dict(part.split("=", 1) for part in query.split("&") if "=" in part)

    def resolve(self, row: Mapping[str, object], variables: Mapping[str, str]) -> dict[str, str]:
        """The target dashboard's variables this link sets for `row` (`${__data.fields.X}` → the row's X,
        `$var` → the source dashboard's variable; `${__url_time_range}` is not a variable)."""
        out = {}
        for key, value in self.params().items():
            if not key.startswith("var-"):
                continue
            field = _FIELD.fullmatch(value)
            if field:
                out[key.removeprefix("var-")] = str(row[field.group(1)])
            else:
                out[key.removeprefix("var-")] = _VARIABLE.sub(lambda m: variables[m.group(1) or m.group(3)], value)
        return out


_FIELD = re.compile(r"\$\{__data\.fields\.(\w+)\}")


def data_links(dashboard: Json) -> Iterator[Link]:
    """Every data link of every panel: in its field defaults and in its per-column overrides."""
    for panel in panels(dashboard):
        config = panel.get("fieldConfig", {})
        for link in config.get("defaults", {}).get("links", []):
            yield Link(dashboard["title"], panel, "", link["url"])
        for override in config.get("overrides", []):
            for prop in override.get("properties", []):
                if prop["id"] == "links":
                    for link in prop["value"]:
                        yield Link(dashboard["title"], panel, override["matcher"]["options"], link["url"])


def panels(dashboard: Json) -> Iterator[Json]:
    """Every panel, rows and the panels inside collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _kind(uid: str) -> str:
    return {datasources.PROMETHEUS_UID: "promql", datasources.POSTGRES_UID: "sql"}.get(uid, "other")


_TIME_FILTER = re.compile(r"\$__timeFilter\(([^)]+)\)")
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")


def expand_sql(sql: str, variables: Mapping[str, str], time_from: datetime, time_to: datetime) -> str:
    """The SQL Grafana would send: `$__timeFilter(col)` as a BETWEEN on RFC 3339 bounds, `$var` / `${var}` /
    `${var:text}` replaced by the variable's value (single quotes in values doubled)."""

    def time_filter(m: re.Match[str]) -> str:
        return f"{m.group(1)} BETWEEN '{time_from.isoformat()}' AND '{time_to.isoformat()}'"

    def variable(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        if name not in variables:
            raise KeyError(f"unknown variable ${name} in: {sql}")
        return variables[name].replace("'", "''")

    return _VARIABLE.sub(variable, _TIME_FILTER.sub(time_filter, sql))


def referenced_variables(text: str) -> set[str]:
    """Names of the dashboard variables a query or title uses (Grafana's own `$__…` macros excluded)."""
    return {
        m.group(1) or m.group(3) for m in _VARIABLE.finditer(text) if not (m.group(1) or m.group(3)).startswith("__")
    }


_RELATIVE = re.compile(r"^now(?:([+-])(\d+)([smhdwMy]))?$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400, "y": 365 * 86400}


def time_range(dashboard: Json, now: datetime) -> tuple[datetime, datetime]:
    """The dashboard's default time range (`now`, `now-6h`, `now+5y`, …) as absolute times."""

    def resolve(text: str) -> datetime:
        m = _RELATIVE.match(text)
        if not m:
            raise ValueError(f"unsupported time {text!r}")
        if not m.group(1):
            return now
        seconds = int(m.group(2)) * _SECONDS[m.group(3)] * (1 if m.group(1) == "+" else -1)
        return now + timedelta(seconds=seconds)

    return resolve(dashboard["time"]["from"]), resolve(dashboard["time"]["to"])
