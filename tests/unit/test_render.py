"""Text from outside is shown as text: rich markup escaped, control characters visible as \\xNN."""

from rich.console import Console

from dx.render import safe


def test_markup_is_escaped_and_prints_literally() -> None:
    console = Console(record=True, width=80)
    console.print(safe("[/x] [bold]not bold[/bold]"))
    assert console.export_text().strip() == "[/x] [bold]not bold[/bold]"


def test_control_characters_never_reach_the_terminal() -> None:
    assert safe("a\x1b[31mb\x07c\x9bd") == "a\\x1b[31mb\\x07c\\x9bd"
    assert safe("tab\tand\nnewline") == "tab\tand\nnewline"
    assert safe(None) == ""
