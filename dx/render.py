"""Text from outside (the database, Kafka records) made safe for the terminal before rich renders it."""

import re

from rich.markup import escape

# C0 controls but tab and newline, DEL, and C1 controls (ESC starts terminal escape sequences).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: str | None) -> str:
    """`text` with rich markup escaped (a "[/x]" in a dead letter once crashed `dx dlq list`) and control characters
    shown as \\xNN instead of reaching the terminal."""
    if text is None:
        return ""
    return escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))
