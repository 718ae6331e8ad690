"""The scorecard's cells "<value> · <status label>" take exactly their status's colour."""

import re

from services.dashboards import common, scorecard
from shared.domain.status import STATUS_VI, Status


def test_each_cell_matches_only_the_mapping_of_its_status() -> None:
    patterns = [(m.options.pattern, m.options.result.color) for m in scorecard.cell_mappings()]  # type: ignore[union-attr]
    colours = {code: colour for code, _, colour in common.STATUSES}
    for status in Status:
        cell = f"12.5{scorecard.SEPARATOR}{STATUS_VI[status]}"
        matched = [colour for pattern, colour in patterns if re.search(pattern, cell)]
        assert matched == [colours[status.value]], (cell, matched)
    assert not any(re.search(p, "12.5") for p, _ in patterns)  # a bare value is not coloured
