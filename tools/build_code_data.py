"""Build fangkong's own code tables from the public reference data in ../shared/data (CC0).

Writes src/fangkong/core/codes/data/{areas.csv.gz,plates.csv} so the installed package needs no file
outside itself. Run again when the shared data changes: `uv run python tools/build_code_data.py`.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "fangkong" / "core" / "codes" / "data"
LEVELS = {"省级": "province", "地级": "prefecture", "县级": "county"}


def build_areas() -> int:
    rows = []
    with (SHARED / "area-codes-1981-2024.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append([row["代码"], row["一级行政区"], row["二级行政区"], row["名称"], LEVELS[row["级别"]],
                         row["启用时间"], row["变更/弃用时间"], row["新代码"]])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "province", "prefecture", "name", "level", "first_year", "retired_year", "successors"])
    writer.writerows(rows)
    (OUT / "areas.csv.gz").write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))
    return len(rows)


def build_plates() -> int:
    with (SHARED / "plate-codes.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = [[row["代码"], row["地区"]] for row in csv.DictReader(handle)]
    with (OUT / "plates.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["prefix", "region"])
        writer.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"areas: {build_areas()} rows; plates: {build_plates()} rows -> {OUT.relative_to(ROOT)}")
