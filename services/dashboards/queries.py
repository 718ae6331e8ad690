"""Query builders: a typed PostgreSQL dataquery (the SDK ships none) and a PromQL shorthand."""

import textwrap
import typing
from enum import StrEnum

from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef
from grafana_foundation_sdk.models.prometheus import PromQueryFormat, QueryEditorMode

from services.dashboards import datasources


class SqlFormat(StrEnum):
    TABLE = "table"
    TIME_SERIES = "time_series"


class SqlDataquery(cogvariants.Dataquery):
    """A raw-SQL query of Grafana's PostgreSQL data source, as its code editor saves it."""

    def __init__(self, raw_sql: str = "", ref_id: str = "", fmt: SqlFormat = SqlFormat.TABLE) -> None:
        self.raw_sql = raw_sql
        self.ref_id = ref_id
        self.format = fmt
        self.datasource: DataSourceRef = datasources.postgres()

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": self.datasource.to_json(),
            "rawSql": self.raw_sql,
            "format": str(self.format),
            "rawQuery": True,
            "editorMode": "code",
        }


class Sql(cogbuilder.Builder[SqlDataquery]):
    """Builder for `SqlDataquery`, in the SDK's style."""

    def __init__(self, raw_sql: str, ref_id: str = "A") -> None:
        self._internal = SqlDataquery(raw_sql=sql_text(raw_sql), ref_id=ref_id)

    def build(self) -> SqlDataquery:
        return self._internal

    def format(self, fmt: SqlFormat) -> typing.Self:
        self._internal.format = fmt
        return self

    def time_series(self) -> typing.Self:
        return self.format(SqlFormat.TIME_SERIES)


def promql(expr: str, legend: str = "", ref_id: str = "A", instant: bool = False) -> prom.Dataquery:
    """A PromQL query on the provisioned Prometheus, in code mode."""
    query = (
        prom.Dataquery()
        .expr(expr)
        .ref_id(ref_id)
        .datasource(datasources.prometheus())
        .editor_mode(QueryEditorMode.CODE)
        .legend_format(legend or "__auto")
    )
    if instant:
        return query.instant().format(PromQueryFormat.TABLE)
    return query.range()


def sql_text(sql: str) -> str:
    """Trim the indentation of a triple-quoted query so the JSON stays readable."""
    return textwrap.dedent(sql).strip()
