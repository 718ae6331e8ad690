"""Every dashboard as {file name: JSON data}, and the files `dx dashboards build` writes."""

from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard

from services.dashboards import alerts, common, operations, overview, scorecard, units

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIR = ROOT / "deploy" / "grafana" / "dashboards"

BUILDERS: dict[str, Callable[[], Dashboard]] = {
    "dx-overview.json": overview.build,
    "dx-scorecard.json": scorecard.build,
    "dx-units.json": units.build,
    "dx-alerts.json": alerts.build,
    "dx-operations.json": operations.build,
}
# Annotation queries (JSON as Grafana saves it; the SDK has no PostgreSQL annotation target) per dashboard.
ANNOTATIONS: dict[str, Callable[[], list[common.Json]]] = {
    "dx-overview.json": overview.annotations,
    "dx-scorecard.json": scorecard.annotations,
    "dx-units.json": units.annotations,
    "dx-alerts.json": alerts.annotations,
}


def build_all() -> dict[str, common.Json]:
    return {
        name: common.to_json(builder(), ANNOTATIONS[name]() if name in ANNOTATIONS else None)
        for name, builder in BUILDERS.items()
    }


def rendered() -> dict[str, str]:
    """The exact text of every dashboard file."""
    return {name: common.render(data) for name, data in build_all().items()}


def write(directory: Path = OUTPUT_DIR) -> list[Path]:
    """Write every dashboard file and delete JSON files no builder makes (the folder is generated);
    returns the files changed or deleted."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = rendered()
    changed = []
    for name, text in expected.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for path in sorted(directory.glob("*.json")):
        if path.name not in expected:
            path.unlink()
            changed.append(path)
    return changed


def stale(directory: Path = OUTPUT_DIR) -> list[str]:
    """Names of dashboard files missing or different from what the code generates (and unknown extra files)."""
    expected = rendered()
    out = [
        name
        for name, text in expected.items()
        if not (directory / name).exists() or (directory / name).read_text(encoding="utf-8") != text
    ]
    extra = sorted(p.name for p in directory.glob("*.json") if p.name not in expected) if directory.exists() else []
    return sorted(out + extra)
