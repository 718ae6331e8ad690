"""`python -m bench.national`: writes the SYNTHETIC national-size hierarchy to bench/data/national/ (bench only,
never shipped): Thanh Hóa's every hierarchy version and lineage file repeated 20 times under the one province
(3,320 communes from 2025-07-01, 11,160 before; 540 districts before), so the national run exercises the same
reforms, carried histories and rollups at 20 × the units. Copy k (1–19) of a unit gets a code shifted by k × 3,000
(communes, 14755–16660 → up to 73660) or k × 30 (districts, 380–407 → up to 977), disjoint from the real codes and
from each other, and names ending in "(tổng hợp k / synthetic k)". Copy 0 is the real data."""

import csv
import io
import sys
import tomllib
from pathlib import Path

from shared.domain.hierarchy import load_hierarchy

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "shared" / "data" / "units"
FOLDER = Path(__file__).resolve().parent / "data" / "national"
COPIES = 20
SHIFT = {"commune": 3_000, "district": 30}
MARKER = "SYNTHETIC national-size hierarchy for the benchmark (bench/national.py); not real administrative units.\n"


def shifted(code: str, level: str, k: int) -> str:
    return code if k == 0 or level not in SHIFT else str(int(code) + k * SHIFT[level])


def renamed(name: str, k: int) -> str:
    return name if k == 0 or not name else f"{name} (tổng hợp {k} / synthetic {k})"


def units_csv(text: str) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    levels = {r["code"]: r["level"] for r in rows}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in rows if r["level"] == "province")
    for k in range(COPIES):
        for r in (r for r in rows if r["level"] != "province"):
            parent = r["parent_code"]
            writer.writerow({**r, "code": shifted(r["code"], r["level"], k),
                             "parent_code": shifted(parent, levels.get(parent, ""), k),
                             **{f: renamed(r[f], k) for f in ("name", "full_name", "full_name_en")}})  # fmt: skip
    return out.getvalue()


def lineage_csv(text: str) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for k in range(COPIES):
        for r in rows:
            writer.writerow({"old_code": shifted(r["old_code"], "commune", k), "old_name": renamed(r["old_name"], k),
                             "new_code": shifted(r["new_code"], "commune", k),
                             "new_name": renamed(r["new_name"], k)})  # fmt: skip
    return out.getvalue()


def write(folder: Path = FOLDER) -> Path:
    """Write the synthetic folder (idempotent) and check that it loads; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = (SHIPPED / "versions.toml").read_text(encoding="utf-8")
    for entry in tomllib.loads(manifest)["versions"]:
        text = (SHIPPED / entry["file"]).read_text(encoding="utf-8-sig")
        (folder / entry["file"]).write_text(units_csv(text), encoding="utf-8")
        if "lineage" in entry:
            text = (SHIPPED / entry["lineage"]).read_text(encoding="utf-8-sig")
            (folder / entry["lineage"]).write_text(lineage_csv(text), encoding="utf-8")
    (folder / "versions.toml").write_text(f"# {MARKER}{manifest}", encoding="utf-8")
    license_file = "LICENSE-vietnamadminunits.txt"  # the lineage files derive from that dataset: its notice travels
    (folder / license_file).write_text((SHIPPED / license_file).read_text(encoding="utf-8"), encoding="utf-8")
    load_hierarchy(folder)
    return folder


if __name__ == "__main__":
    print(write())
    sys.exit(0)
