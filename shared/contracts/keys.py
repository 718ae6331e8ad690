"""The Kafka key `indicator:unit` of dx.ingest.v1, dx.events.v1 and dx.rollups.v1: one (indicator, unit) per key,
so each pair's messages stay in order on one partition (and compaction of dx.rollups.v1 keeps the newest)."""


def pair_key(indicator: str, unit: str) -> bytes:
    return f"{indicator}:{unit}".encode()


def parse_pair_key(key: bytes | None) -> tuple[str, str] | None:
    """(indicator, unit) of a key made by `pair_key`; None for a missing or malformed key."""
    indicator, sep, unit = (key or b"").decode("utf-8", "replace").partition(":")
    return (indicator, unit) if sep and indicator and unit else None
