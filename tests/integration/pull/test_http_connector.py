"""The HTTP connector against a real HTTP source on loopback and a real collector, Kafka and PostgreSQL: pages,
ETags, a 500 and a slow answer; per-record rejections dead-lettered; the cursor moves only after a success."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared import names
from shared.settings import Settings
from testing.fake_source import FakeSource, FakeState, record
from tests.integration.pull.support import (
    collector_process,
    connector_row,
    event_ids,
    http_connector,
    pull_settings,
    pulled_deadletters,
    runner,
    runs,
    token_file,
    write_connector,
)
from tests.support.db import fetch

DAY = date.today() - timedelta(days=2)


@pytest.fixture
def source() -> Iterator[FakeSource]:
    records = [record(c, DAY, 100 + i, 400) for i, c in enumerate(("14758", "14797", "14812", "14818", "15853"))]
    with FakeSource(FakeState(records=records, page_size=2)) as fake:
        yield fake


@pytest.fixture
def collector(isolated: Settings) -> Iterator[str]:
    with collector_process(isolated) as url:
        yield url


async def test_pages_are_read_whole_an_unchanged_report_is_not_fetched_again(
    isolated: Settings, collector: str, source: FakeSource, tmp_path: Path
) -> None:
    token = await token_file(isolated, tmp_path, "portal-dvc")
    connector = write_connector(tmp_path, "portal", http_connector(source.url, token))
    settings = pull_settings(isolated, collector)
    async with runner(settings) as run:
        first = await run.run(connector, datetime.now(UTC))
        assert first is not None and first.outcome == "ok", first
        assert first.tally.counts() == (5, 5, 0)
        pages = [p for p, _ in source.state.requests]
        assert pages == ["/report?page=1", "/report?page=2", "/report?page=3", "/report?page=4"]
        assert (await connector_row(isolated, "portal"))["cursor"] is not None

        second = await run.run(connector, None)  # forced: the tick is done, the report unchanged
        assert second is not None and second.outcome == "ok" and second.tally.counts() == (0, 0, 0)
        assert source.state.requests[-1] == ("/report?page=1", 304)

        source.state.records.append(record("14758", DAY + timedelta(days=1), 130, 400))
        third = await run.run(connector, None)
        assert third is not None and third.tally.counts() == (6, 6, 0)
    ids = await event_ids(isolated)
    assert len(set(ids)) == 6 and len(ids) == 11  # five events twice (duplicates downstream), one new


async def test_a_500_fails_the_run_backs_off_and_keeps_the_cursor(
    isolated: Settings, collector: str, source: FakeSource, tmp_path: Path
) -> None:
    token = await token_file(isolated, tmp_path, "portal-dvc")
    connector = write_connector(tmp_path, "portal", http_connector(source.url, token))
    tick = datetime(2026, 1, 1, tzinfo=UTC)
    backoff = {"pull_backoff_base_seconds": 3600, "pull_backoff_max_seconds": 7200}
    async with runner(pull_settings(isolated, collector, **backoff)) as run:
        source.state.fail_paths = {"/report?page=2"}  # page 1 answers, page 2 fails: nothing of the run counts
        failed = await run.run(connector, tick)
        assert failed is not None and failed.outcome == "failed"
        assert failed.error is not None and "answered 500" in failed.error
        row = await connector_row(isolated, "portal")
        assert row["failures"] == 1 and row["retry_at"] > datetime.now(UTC) + timedelta(minutes=50)
        assert row["done_tick"] is None and row["cursor"] == "{}"
        assert await run.run(connector, tick) is None  # backing off: the tick is not retried before retry_at
        assert await event_ids(isolated) == []
        assert source.state.requests == [("/report?page=1", 200), ("/report?page=2", 500)]
        source.state.fail_paths = set()
        again = await run.run(connector, None)  # an operator's forced run ignores the backoff
        assert again is not None and again.outcome == "ok" and again.tally.accepted == 5
    outcomes = [r["outcome"] for r in await runs(isolated, "portal")]
    assert outcomes == ["failed", "ok"]


async def test_a_source_that_answers_too_slowly_times_out(
    isolated: Settings, collector: str, source: FakeSource, tmp_path: Path
) -> None:
    token = await token_file(isolated, tmp_path, "portal-dvc")
    connector = write_connector(tmp_path, "portal", http_connector(source.url, token, timeout="1s"))
    source.state.delay_s = 3.0
    async with runner(pull_settings(isolated, collector)) as run:
        result = await run.run(connector, datetime(2026, 1, 1, tzinfo=UTC))
    assert result is not None and result.outcome == "failed"
    assert result.error is not None and "no answer within 1s" in result.error
    assert (await connector_row(isolated, "portal"))["cursor"] == "{}"


async def test_bad_records_are_reported_and_dead_lettered_the_rest_goes_on(
    isolated: Settings, collector: str, source: FakeSource, tmp_path: Path
) -> None:
    # The source may write only the communes of Hàm Rồng and Hạc Thành: the collector refuses the others (scope).
    token = await token_file(isolated, tmp_path, "portal-dvc", units=["14758", "14797"])
    source.state.records[1]["ngay"] = "yesterday"
    source.state.records.append(record("14755", DAY, 1, 2))  # merged away in July 2025
    connector = write_connector(tmp_path, "portal", http_connector(source.url, token))
    async with runner(pull_settings(isolated, collector)) as run:
        result = await run.run(connector, None)
        counted = {r: run.metrics.registry.get_sample_value(f"{names.M_EVENTS_DEADLETTERED}_total", {"reason": r})
                   for r in ("forbidden", "invalid_field", "unit_not_in_force")}  # fmt: skip
    assert counted == {"forbidden": 3, "invalid_field": 1, "unit_not_in_force": 1}
    assert result is not None and result.outcome == "ok"
    assert result.tally.counts() == (6, 1, 5)
    reasons = sorted(e.reason.split(":")[0] for _, e in result.tally.errors)
    assert reasons == ["forbidden", "forbidden", "forbidden", "invalid_field", "unit_not_in_force"]
    letters = await pulled_deadletters(isolated, "portal")
    assert len(letters) == 5 and {d["service"] for d in letters} == {"pull"}
    assert {d["record"]["ma_xa"] for d in letters} == {"14797", "14812", "14818", "15853", "14755"}
    assert any(d["reason"].startswith("invalid_field: date: ") for d in letters)
    assert len(await event_ids(isolated)) == 1


async def test_a_csv_report_behind_a_credential_with_last_modified(
    isolated: Settings, collector: str, source: FakeSource, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source.state.etags, source.state.token = False, "portal-api-secret-123"
    (tmp_path / "portal.secret").write_text("portal-api-secret-123\n", encoding="utf-8")
    token = await token_file(isolated, tmp_path, "portal-dvc")
    text = http_connector(source.url, token).replace(f'url = "{source.url}/report"', f'url = "{source.url}/report.csv"')
    text = text.replace('records = "data"\npagination = { page_param = "page" }', (
        'format = "csv"\nauth = { secret = { file = "portal.secret" } }'))  # fmt: skip
    connector = write_connector(tmp_path, "portal", text)
    async with runner(pull_settings(isolated, collector)) as run:
        first = await run.run(connector, None)
        assert first is not None and first.outcome == "ok" and first.tally.counts() == (5, 5, 0), first
        row = await connector_row(isolated, "portal")
        assert "Mon, 30 Nov 2026 00:00:00 GMT" in row["cursor"]
        second = await run.run(connector, None)
        assert second is not None and second.tally.counts() == (0, 0, 0)
        assert source.state.requests[-1] == ("/report.csv", 304)
        source.state.token = "rotated"
        refused = await run.run(connector, None)
    assert refused is not None and refused.outcome == "failed" and "answered 401" in (refused.error or "")
    assert set(source.state.authorizations) == {"Bearer portal-api-secret-123"}
    stored = await fetch(isolated, "SELECT cursor::text, last_error FROM pull_connectors UNION ALL "
                                   "SELECT '', error FROM pull_runs")  # fmt: skip
    assert "portal-api-secret" not in caplog.text and "portal-api-secret" not in str([tuple(r) for r in stored])
    assert len(set(await event_ids(isolated))) == 5


async def test_next_links_are_followed_to_the_last_page_and_too_many_pages_fail(
    isolated: Settings, collector: str, source: FakeSource, tmp_path: Path
) -> None:
    token = await token_file(isolated, tmp_path, "portal-dvc")
    text = http_connector(source.url, token).replace('{ page_param = "page" }', '{ next = "links.next" }')
    connector = write_connector(tmp_path, "portal", text)
    capped = write_connector(tmp_path, "capped", text.replace('"links.next" }', '"links.next", max_pages = 2 }'))
    async with runner(pull_settings(isolated, collector)) as run:
        result = await run.run(connector, None)
        assert result is not None and result.outcome == "ok" and result.tally.counts() == (5, 5, 0), result
        assert [p for p, _ in source.state.requests] == ["/report", "/report?page=2", "/report?page=3"]
        too_many = await run.run(capped, None)
    assert too_many is not None and too_many.outcome == "failed" and "more than 2 pages" in (too_many.error or "")
    assert len(set(await event_ids(isolated))) == 5  # the capped run sent nothing
