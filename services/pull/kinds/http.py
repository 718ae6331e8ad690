"""HTTP JSON/CSV sources: GET with headers and auth, pagination (a next-page link or a page parameter), dotted-path
field mapping, conditional requests (ETag / Last-Modified of the first page, stored after a successful run).

Headers are never logged: errors name the URL and the status only.
"""

import csv
import io
from typing import Any
from urllib.parse import urljoin

import httpx
import orjson

from services.pull.config import Connector
from services.pull.kinds.base import RunContext, SourceError, deliver_records
from services.pull.mapping import PathError, pick


class HttpSource:
    def __init__(self, connector: Connector, transport: httpx.AsyncBaseTransport | None = None) -> None:
        assert connector.spec.http is not None
        self.connector, self.spec, self.transport = connector, connector.spec.http, transport

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/csv" if self.spec.format == "csv" else "application/json", **self.spec.headers}
        if self.spec.auth is not None:
            headers[self.spec.auth.header] = self.spec.auth.prefix + self.spec.auth.secret.read().get_secret_value()
        return headers

    async def run(self, ctx: RunContext) -> None:
        records, cursor = await self.fetch(ctx.cursor)
        if records is not None:  # None: 304 Not Modified, nothing new since the last successful run
            await deliver_records(ctx, records, self.spec.url, cursor)

    async def fetch(self, cursor: dict[str, Any]) -> tuple[list[Any] | None, dict[str, Any]]:
        """(every record of every page, the cursor to keep), or (None, cursor) when the first page is unchanged."""
        spec, paging = self.spec, self.spec.pagination
        conditional: dict[str, str] = {}
        if spec.conditional and cursor.get("etag"):
            conditional["If-None-Match"] = cursor["etag"]
        if spec.conditional and cursor.get("last_modified"):
            conditional["If-Modified-Since"] = cursor["last_modified"]
        records: list[Any] = []
        kept: dict[str, Any] = {}
        url: str | None = spec.url
        page = paging.first if paging else 0
        async with httpx.AsyncClient(
            headers=self._headers(), timeout=self.connector.timeout_s, transport=self.transport
        ) as client:
            for number in range(paging.max_pages if paging else 1):
                assert url is not None
                params = {paging.page_param: page} if paging and paging.page_param else None
                response = await self._get(client, url, params, conditional if number == 0 else {})
                if number == 0 and response.status_code == 304:
                    return None, cursor
                if response.status_code != 200:
                    raise SourceError(f"{url} answered {response.status_code} {response.reason_phrase}")
                if number == 0:
                    kept = {
                        "etag": response.headers.get("etag"),
                        "last_modified": response.headers.get("last-modified"),
                    }
                body, found = self._records(response)
                records += found
                if paging is None:
                    return records, kept
                if paging.page_param:
                    if not found:
                        return records, kept
                    page += 1
                else:
                    assert paging.next is not None
                    try:
                        link = pick(body, paging.next)
                    except PathError:
                        link = None
                    if not link:
                        return records, kept
                    url = urljoin(url, str(link))
        raise SourceError(f"{spec.url}: more than {paging.max_pages if paging else 1} pages (pagination.max_pages)")

    async def _get(
        self, client: httpx.AsyncClient, url: str, params: dict[str, Any] | None, headers: dict[str, str]
    ) -> httpx.Response:
        try:
            return await client.get(url, params=params, headers=headers)
        except httpx.TimeoutException as err:
            raise SourceError(f"{url}: no answer within {self.connector.spec.timeout}") from err
        except httpx.HTTPError as err:
            raise SourceError(f"{url}: {type(err).__name__}") from err

    def _records(self, response: httpx.Response) -> tuple[Any, list[Any]]:
        if self.spec.format == "csv":
            rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
            return None, rows
        try:
            body = orjson.loads(response.content)
            found = pick(body, self.spec.records)
        except orjson.JSONDecodeError as err:
            raise SourceError(f"{response.url}: the body is not JSON ({err})") from err
        except PathError as err:
            raise SourceError(f"{response.url}: records path {self.spec.records!r} not found") from err
        if not isinstance(found, list):
            raise SourceError(f"{response.url}: records path {self.spec.records!r} is not a list")
        return body, found
