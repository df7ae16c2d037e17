"""Build fangkong's own code tables from the public reference data in ../shared/data (CC0 1.0).

Writes src/fangkong/core/codes/data/areas.csv.gz and plates.csv, so the installed package needs no file
outside itself. Run again when the shared data changes; `--check` only reports whether the committed
files are up to date (exit status 1 if not):

    uv run python tools/build_code_data.py [--check]
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "fangkong" / "core" / "codes" / "data"
LEVELS = {"省级": "province", "地级": "prefecture", "县级": "county"}
AREA_HEADER = ["code", "province", "prefecture", "name", "level", "first_year", "retired_year", "successors"]
PLATE_HEADER = ["prefix", "region"]


def _read(name: str, shared: Path) -> list[dict[str, str]]:
    """Return the rows of a shared CSV file (which starts with a byte-order mark)."""
    with (shared / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    """Return rows as UTF-8 CSV with Unix line ends and no byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _area_row(row: dict[str, str]) -> list[str]:
    """Return one packaged area row, refusing anything the code modules could misread."""
    code, first, retired = row["代码"], row["启用时间"], row["变更/弃用时间"]
    if not re.fullmatch(r"[0-9]{6}", code) or not first.isdigit() or not (retired == "" or retired.isdigit()):
        raise ValueError(f"unexpected area row: {row}")
    return [code, row["一级行政区"], row["二级行政区"], row["名称"], LEVELS[row["级别"]], first, retired, row["新代码"]]


def area_bytes(shared: Path = SHARED) -> bytes:
    """Return the gzipped area table (reproducible: no timestamp in the gzip header)."""
    rows = [_area_row(row) for row in _read("area-codes-1981-2024.csv", shared)]
    return gzip.compress(_csv(AREA_HEADER, rows), compresslevel=9, mtime=0)


def plate_bytes(shared: Path = SHARED) -> bytes:
    """Return the plate prefix table."""
    rows = [[row["代码"], row["地区"]] for row in _read("plate-codes.csv", shared)]
    for prefix, _region in rows:
        re.compile(prefix)  # fail here, not in production, on a pattern that does not compile
    return _csv(PLATE_HEADER, rows)


def outputs(shared: Path = SHARED) -> dict[str, bytes]:
    """Return the packaged data files by name."""
    return {"areas.csv.gz": area_bytes(shared), "plates.csv": plate_bytes(shared)}


def main(argv: list[str]) -> int:
    """Write (or with --check, compare) the packaged data files; return the exit status."""
    built = outputs()
    if "--check" in argv:
        stale = [name for name, data in built.items() if not (OUT / name).exists() or (OUT / name).read_bytes() != data]
        print("stale: " + ", ".join(stale) if stale else "code data up to date")
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in built.items():
        (OUT / name).write_bytes(data)
        print(f"{OUT.relative_to(ROOT) / name}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
