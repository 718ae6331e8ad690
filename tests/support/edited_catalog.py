"""The shipped catalog with one indicator edited, as an operator would edit catalog.toml between two restarts."""

import tomllib
from importlib import resources

from shared.domain.catalog import Catalog, parse_catalog

INDICATOR = "[[indicators]]\n"


def shipped_text() -> str:
    return resources.files("shared").joinpath("data/catalog.toml").read_text(encoding="utf-8")


def edited_catalog_text(code: str, old: str, new: str) -> str:
    """catalog.toml with `old` replaced by `new` in the block of indicator `code` only (asserted to occur there)."""
    head, *blocks = shipped_text().split(INDICATOR)
    mine = [i for i, block in enumerate(blocks) if block.startswith(f'code = "{code}"\n')]
    assert len(mine) == 1, f"indicator {code} not in the shipped catalog"
    assert old in blocks[mine[0]], f"{old!r} is not in the block of {code}"
    blocks[mine[0]] = blocks[mine[0]].replace(old, new, 1)
    return INDICATOR.join([head, *blocks])


def edited_catalog(code: str, old: str, new: str) -> Catalog:
    return parse_catalog(tomllib.loads(edited_catalog_text(code, old, new)))


def catalog_without(code: str) -> Catalog:
    raw = tomllib.loads(shipped_text())
    kept = [i for i in raw["indicators"] if i["code"] != code]
    assert len(kept) == len(raw["indicators"]) - 1, f"indicator {code} not in the shipped catalog"
    return parse_catalog({**raw, "indicators": kept})
