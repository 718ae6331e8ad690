"""Local time of the province: milestones and daily buckets use Asia/Ho_Chi_Minh dates."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.names import TIMEZONE

LOCAL_TZ = ZoneInfo(TIMEZONE)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def local_date(moment: datetime) -> date:
    """The province's calendar date of an aware timestamp."""
    return moment.astimezone(LOCAL_TZ).date()


def end_of_local_day(day: date) -> datetime:
    """The last instant of a local day, as an aware UTC timestamp."""
    return datetime.combine(day, time.max, LOCAL_TZ).astimezone(UTC)


def start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """An aware timestamp as RFC 3339 in UTC with a `Z`, as every message of dxmon carries it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00Z of an aware timestamp (exact, unlike `timestamp()`)."""
    return (moment - EPOCH) // MICROSECOND
