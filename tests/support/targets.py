"""Target statuses written as the alerter writes them, for tests of what reads them (`dx status`, `dx report`)."""

from collections.abc import Iterable
from datetime import UTC, datetime

from shared.settings import Settings
from tests.support.db import fetch

EVALUATED = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
# (indicator, unit, milestone, value, expected, target, projected, status, reason)
TargetRow = tuple[str, str, str, float | None, float | None, float | None, float | None, str, str]
ROWS: list[TargetRow] = [
    ("gov.satisfaction", "38", "2025", 91.25, 90.0, 90.0, None, "achieved", "Đạt 91,25% đến hạn 31/12/2025"),
    ("gov.satisfaction", "38", "2030", 91.25, 91.5, 98.0, 93.0, "at_risk", "Dự báo 93% đến 31/12/2030"),
    ("gov.satisfaction", "14758", "2025", 80.0, 90.0, 90.0, None, "missed", "Hết hạn 31/12/2025: đạt 80%"),
    ("gov.satisfaction", "14797", "2025", None, None, 90.0, None, "no_data", "Chưa có số liệu"),
    ("gov.satisfaction", "380", "2025", 85.0, None, 90.0, None, "not_applicable", "Cấp huyện không còn từ 01/07/2025"),
    ("soc.epayment_accounts", "38", "2025", 45.5, 50.0, 50.0, None, "missed", "Hết hạn: đạt 45,5%, mục tiêu 50%"),
    ("overall.dti_rank", "38", "2025", 12.0, 10.0, 10.0, None, "missed", "Hạng 12, mục tiêu ≤ 10 [/x]"),
]


async def write_target_rows(settings: Settings, rows: Iterable[TargetRow] = ROWS) -> None:
    for r in rows:
        await fetch(
            settings,
            "INSERT INTO target_status (indicator, unit, milestone, value, expected, target, projected, status, "
            "reason, evaluated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            *r, EVALUATED,
        )  # fmt: skip
