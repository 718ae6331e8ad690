"""The generated dashboards are what Grafana 11 accepts, as far as can be checked without a Grafana server."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.dashboards import datasources, recorded
from services.dashboards.build import build_all
from testing.dashboards import panels, queries, referenced_variables

ROOT = Path(__file__).resolve().parents[2]
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
RULES = ROOT / "deploy" / "prometheus" / "rules"
DASHBOARDS = build_all()
BY_TITLE = pytest.mark.parametrize("name", sorted(DASHBOARDS))


def provisioned_datasources() -> dict[str, str]:
    docs = [yaml.safe_load(p.read_text()) for p in sorted((PROVISIONING / "datasources").glob("*.yml"))]
    return {ds["uid"]: ds["type"] for doc in docs for ds in doc["datasources"]}


def test_five_dashboards_with_fixed_unique_uids_and_vietnamese_titles() -> None:
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert sorted(uids) == ["dx-alerts", "dx-operations", "dx-overview", "dx-scorecard", "dx-units"]
    titles = " | ".join(d["title"] for d in DASHBOARDS.values())
    for title in ("Tổng quan chuyển đổi số", "Bảng điểm theo xã", "Theo địa bàn", "Cảnh báo", "Vận hành"):
        assert title in titles


@BY_TITLE
def test_schema_version_and_required_fields(name: str) -> None:
    board = DASHBOARDS[name]
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 39
    assert board["uid"] and len(board["uid"]) <= 40 and re.fullmatch(r"[a-zA-Z0-9_-]+", board["uid"])
    assert board["timezone"] == "Asia/Ho_Chi_Minh"
    assert board["time"]["from"] and board["time"]["to"]
    assert isinstance(board["templating"]["list"], list)
    assert board["annotations"]["list"][0]["builtIn"] == 1


@BY_TITLE
def test_panel_ids_are_unique_positive_integers(name: str) -> None:
    ids = [p["id"] for p in panels(DASHBOARDS[name])]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"


@BY_TITLE
def test_every_panel_has_a_grid_position_inside_the_24_column_grid(name: str) -> None:
    for panel in panels(DASHBOARDS[name]):
        pos = panel["gridPos"]
        assert all(isinstance(pos[k], int) for k in "hwxy"), panel["title"]
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] >= 0 and pos["y"] >= 0
        assert pos["x"] + pos["w"] <= 24, panel["title"]


@BY_TITLE
def test_panels_do_not_overlap(name: str) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(DASHBOARDS[name]):
        pos = panel["gridPos"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


def test_provisioning_creates_exactly_the_data_sources_the_dashboards_name() -> None:
    assert provisioned_datasources() == datasources.PROVISIONED
    am = next(
        ds
        for p in (PROVISIONING / "datasources").glob("*.yml")
        for ds in yaml.safe_load(p.read_text())["datasources"]
        if ds["type"] == "alertmanager"
    )
    assert am["jsonData"]["implementation"] == "prometheus"


@BY_TITLE
def test_every_datasource_reference_is_a_provisioned_uid_of_the_right_type(name: str) -> None:
    provisioned = provisioned_datasources()
    refs: list[dict[str, Any]] = []
    board = DASHBOARDS[name]
    for panel in panels(board):
        if panel["type"] != "row":
            assert panel.get("targets"), f"panel {panel['title']!r} has no query"
            refs.append(panel["datasource"])
        refs.extend(t["datasource"] for t in panel.get("targets", []))
    refs.extend(v["datasource"] for v in board.get("templating", {}).get("list", []) if "datasource" in v)
    assert refs
    for ref in refs:
        assert ref["uid"] in provisioned, ref
        assert ref["type"] == provisioned[ref["uid"]], ref


@BY_TITLE
def test_targets_have_unique_ref_ids_and_a_query(name: str) -> None:
    for panel in panels(DASHBOARDS[name]):
        targets = panel.get("targets", [])
        assert len({t["refId"] for t in targets}) == len(targets), panel["title"]
        for t in targets:
            if t["datasource"]["uid"] == datasources.POSTGRES_UID:
                assert t["rawSql"].strip() and t["rawQuery"] is True and t["editorMode"] == "code"
                assert t["format"] in ("table", "time_series")
            else:
                assert t["expr"].strip()


def test_the_unit_variable_lists_units_in_force_with_their_names() -> None:
    variables = {v["name"]: v for v in DASHBOARDS["dx-units.json"]["templating"]["list"]}
    unit = variables["unit"]
    assert unit["type"] == "query" and unit["datasource"]["uid"] == datasources.POSTGRES_UID
    assert "__value" in unit["query"] and "__text" in unit["query"] and "full_name" in unit["query"]
    assert "valid_to" in unit["query"] and unit["current"]["value"] == "38"
    # Chained: the indicator list depends on the chosen unit, and only on variables defined before it.
    assert referenced_variables(variables["indicator"]["query"]) == {"unit"}


@BY_TITLE
def test_queries_and_titles_use_only_defined_variables(name: str) -> None:
    board = DASHBOARDS[name]
    defined = [v["name"] for v in board.get("templating", {}).get("list", [])]
    for q in queries(board):
        assert referenced_variables(q.text) <= set(defined), q.where
    for panel in panels(board):
        assert referenced_variables(panel["title"]) <= set(defined), panel["title"]
    for i, var in enumerate(board.get("templating", {}).get("list", [])):
        assert referenced_variables(str(var.get("query", ""))) <= set(defined[:i]), var["name"]


def test_every_recorded_series_the_panels_use_is_defined_in_the_rules() -> None:
    defined = {
        rule["record"]
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    names = {v for k, v in vars(recorded).items() if k.isupper()}
    assert names <= defined, sorted(names - defined)
    used = {
        name
        for board in DASHBOARDS.values()
        for q in queries(board)
        if q.kind == "promql"
        for name in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", q.text)
    }
    assert used and used <= defined, sorted(used - defined)


def test_status_labels_are_vietnamese_and_cover_every_status() -> None:
    from services.dashboards.common import STATUSES
    from shared.domain.status import Status

    assert STATUSES[0][0] == "missed"
    assert {code for code, _, _ in STATUSES} == {str(s) for s in Status}
    overview = DASHBOARDS["dx-overview.json"]
    table = next(p for p in panels(overview) if p["type"] == "table")
    options = table["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert options["missed"]["text"] == "Không đạt" and options["achieved"]["text"] == "Đã đạt"
