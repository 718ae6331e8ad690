"""The README states what the code does: its configuration table is the code's, its commands exist."""

from pathlib import Path

from dx.commands.config import markdown_table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_configuration_table_lists_every_setting_with_its_default() -> None:
    assert markdown_table() in README, "README's table is stale: paste `dx config --markdown` into it"


def test_the_two_commands_are_the_makefile_targets_ci_runs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")


def test_env_example_documents_every_setting() -> None:
    from dx.commands.config import env_example

    assert (ROOT / ".env.example").read_text(encoding="utf-8") == env_example(), "run `dx config --env > .env.example`"


def test_every_document_the_readme_links_exists() -> None:
    import re

    linked = set(re.findall(r"\]\((docs/[^)#]+)\)", README))
    assert {"docs/runbook.md", "docs/events-and-topics.md", "docs/asyncapi.json"} <= linked
    missing = [p for p in sorted(linked) if not (ROOT / p).exists()]
    assert not missing, f"README links files that do not exist: {missing}"
