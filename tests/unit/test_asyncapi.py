"""docs/asyncapi.json is generated from shared/contracts: it is current, and a changed model makes it stale."""

import json
from typing import Any

import pytest
from pydantic import create_model

from dx import asyncapi
from dx.main import main
from shared.contracts.rollups import RollupV1


def test_the_committed_document_is_current() -> None:
    assert not asyncapi.stale(), "docs/asyncapi.json is stale: run `dx docs asyncapi`"
    assert main(["docs", "asyncapi", "--check"]) == 0


def test_a_changed_model_makes_it_stale(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    changed = create_model("RollupV1", __base__=RollupV1, period=(str, ...))
    channels = [(c[0], c[1], changed if c[2] is RollupV1 else c[2], *c[3:]) for c in asyncapi.CHANNELS]
    monkeypatch.setattr(asyncapi, "CHANNELS", channels)
    assert asyncapi.stale()
    assert main(["docs", "asyncapi", "--check"]) == 1
    assert "out of date" in capsys.readouterr().out


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_all_five_topics_with_keys_headers_and_resolvable_refs() -> None:
    doc = json.loads(asyncapi.OUTPUT.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {"dx.ingest.v1", "dx.events.v1", "dx.deadletter.v1", "dx.rollups.v1", "dx.alerts.v1"}
    messages = doc["components"]["messages"]
    assert "dx-source" in messages["EventV1"]["headers"]["properties"]
    assert "dx-reason" in messages["DeadLetterV1"]["headers"]["properties"]
    assert messages["RollupV1"]["bindings"]["kafka"]["key"]["description"] == "indicator:unit"
    assert doc["channels"]["rollups"]["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"] == ["compact"]
    assert "from" in doc["components"]["schemas"]["AlertV1"]["properties"]  # the wire name, not from_state
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]  # KeyError: a dangling reference
