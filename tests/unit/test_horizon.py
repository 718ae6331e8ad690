"""The replay horizon's arithmetic (shared/domain/horizon.py): which months may be pruned, and when a horizon is too
short for what Kafka can still replay."""

from datetime import UTC, date, datetime, timedelta

from shared.domain.horizon import DAY_MS, horizon_problem, month_end, month_of, prunable

MONTHS = [date(2026, m, 1) for m in range(8, 13)]


def test_a_moment_belongs_to_its_utc_month() -> None:
    late = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert month_of(late) == date(2026, 10, 1)
    assert month_of(late.astimezone(datetime.now().astimezone().tzinfo)) == date(2026, 10, 1)
    local_new_year = datetime.fromisoformat("2027-01-01T06:00:00+07:00")  # still 2026-12-31 in UTC
    assert month_of(local_new_year) == date(2026, 12, 1)
    assert month_end(date(2026, 12, 1)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert month_end(date(2026, 2, 1)) == datetime(2026, 3, 1, tzinfo=UTC)


def test_a_month_goes_only_once_its_last_event_is_older_than_the_horizon() -> None:
    now = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    assert prunable(MONTHS, now, timedelta(days=45)) == [date(2026, 8, 1), date(2026, 9, 1)]  # cutoff 2026-10-19
    # the cutoff on a month's end: that month goes, the next one stays
    assert prunable(MONTHS, datetime(2026, 11, 15, tzinfo=UTC), timedelta(days=45)) == [date(2026, 8, 1),
                                                                                         date(2026, 9, 1)]  # fmt: skip
    assert prunable(MONTHS, datetime(2026, 11, 14, 23, 59, tzinfo=UTC), timedelta(days=45)) == [date(2026, 8, 1)]
    assert prunable(list(reversed(MONTHS)), now, timedelta(days=400)) == []


def test_a_horizon_must_outlast_every_topics_retention() -> None:
    retention: dict[str, int | None] = {"dx.events.v1": 30 * DAY_MS, "dx.ingest.v1": 7 * DAY_MS}
    assert horizon_problem(45, retention) is None
    assert horizon_problem(31, retention) is None
    assert "dx.events.v1 keeps messages for 30 days" in str(horizon_problem(30, retention))
    assert "dx.ingest.v1 keeps messages for 40 days" in str(
        horizon_problem(40, {**retention, "dx.ingest.v1": 40 * DAY_MS})
    )
    assert "keeps every message (retention.ms=-1)" in str(horizon_problem(45, {**retention, "dx.events.v1": -1}))
    assert "could not be read" in str(horizon_problem(45, {**retention, "dx.ingest.v1": None}))
    assert "at least 1 day" in str(horizon_problem(0, retention))
