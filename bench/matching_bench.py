"""Record-linkage benchmark (issue 5): match 100,000 incoming records against 1,000,000 person files, on
SQLite and PostgreSQL; then the precision and recall of the matching on the planted near-duplicates.

Target: under a minute per backend for the matching (about what Splink claims for a million records on a
laptop). The files are generated in bulk through Core inserts (not timed as matching). Sizes:
BENCH_MATCH_FILES (default 1,000,000) and BENCH_MATCH_RECORDS (100,000). Precision is of the automatic
links: an automatic link to the wrong file is a wrong merge of two people, and must stay at zero.
"""

from __future__ import annotations

import io
import os
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from bench.backends import on_each_backend
from bench.matching_data import Planted, make_files, plant, plant_rows

from fangkong.core.db import Database, insert_rows
from fangkong.core.migrate import upgrade
from fangkong.core.models import Unit
from fangkong.people.matching import IncomingRecord, link_persons
from fangkong.people.models import MatchPair, Person

FILES = int(os.environ.get("BENCH_MATCH_FILES", "1000000"))
RECORDS = int(os.environ.get("BENCH_MATCH_RECORDS", "100000"))


def _setup(db: Database) -> tuple[int, int, list[dict[str, object]]]:
    with db.unit_of_work() as s:
        unit = Unit(code="620100", name="兰州市公安局", kind="city", path="")
        s.add(unit)
        s.flush()
        unit.path = f"/{unit.id}/"
        unit_id = unit.id
    started = time.perf_counter()
    rows = make_files(FILES, unit_id)
    made = time.perf_counter() - started
    started = time.perf_counter()
    with db.unit_of_work() as s:
        insert_rows(s, Person, rows, chunk=20000)
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE persons")
        else:
            conn.exec_driver_sql("ANALYZE")
    with db.sessions() as s:
        first = s.execute(sa.select(sa.func.min(Person.id))).scalar_one()
    print(f"  {FILES:,} files generated in {made:.1f} s, inserted in {time.perf_counter() - started:.1f} s",
          flush=True)
    return unit_id, first, rows


def bench(url: str, label: str, var: Path) -> None:
    print(f"[{label}]")
    upgrade(url)
    db = Database(url, audit_key="b" * 40)
    unit_id, first, files = _setup(db)
    planted = plant(files, RECORDS, unit_id)
    del files
    records = [p.record for p in planted]
    started = time.perf_counter()
    with db.unit_of_work() as s:
        links = link_persons(s, records)
    elapsed = time.perf_counter() - started
    print(f"  matched {len(records):,} records against {FILES:,} files in {elapsed:.1f} s "
          f"({len(records) / elapsed:,.0f} records/s; target < 60 s)")
    with db.sessions() as s:
        pairs = s.execute(sa.select(sa.func.count()).select_from(MatchPair)).scalar_one()
    _report(planted, links, first, pairs)
    _through_intake(db, unit_id, first)
    db.dispose()


INTAKE_ROWS = int(os.environ.get("BENCH_MATCHING_INTAKE_ROWS", "20000"))


def _through_intake(db: Database, unit_id: int, first: int) -> None:
    """Issue 21: the same measure through `fangkong leads import`'s reading of a pushed sheet, with the
    corruptions that made the intake refuse rows whole (a 10-digit phone, a wrong check digit, a number
    Excel cut), each row read, normalised and matched as the import does."""
    from openpyxl import Workbook

    from fangkong.leads.sheet_import import _input
    from fangkong.leads.sheets import read_sheet

    files = make_files(FILES, unit_id)
    rows = plant_rows(files, INTAKE_ROWS)
    del files
    book = Workbook(write_only=True)
    sheet = book.create_sheet("推送线索")
    sheet.append(["姓名", "身份证号码", "联系电话", "现居住地址"])
    for row in rows:
        sheet.append(list(row.cells))
    out = io.BytesIO()
    book.save(out)
    parsed = read_sheet(out.getvalue(), "推送线索.xlsx")
    taken = [(p, r) for p, r in zip(rows, parsed.rows, strict=True) if r.ok]
    refused = Counter(p.kind for p, r in zip(rows, parsed.rows, strict=True) if not r.ok)
    records = [IncomingRecord(name=item.name, id_number=item.id_number, phone=item.phone,
                              address=item.current_address, unit_id=unit_id, birth_date=item.birth_date)
               for item in (_input(r) for _p, r in taken)]
    with db.unit_of_work() as s:
        links = link_persons(s, records)
    print(f"  through the sheet intake ({len(rows):,} rows; refused whole: {sum(refused.values())}"
          + (f" {dict(refused)}" if refused else "") + ")")
    planted = [Planted(record, p.truth, p.kind) for (p, _r), record in zip(taken, records, strict=True)]
    missed = [Planted(IncomingRecord(None, None, None, None, unit_id), p.truth, p.kind)
              for p, r in zip(rows, parsed.rows, strict=True) if not r.ok]
    from fangkong.people.matching import Link

    _report(planted + missed, links + [Link(0, "new")] * len(missed), first, 0)


def _report(planted, links, first: int, pairs: int) -> None:  # type: ignore[no-untyped-def]
    how = Counter(link.how for link in links)
    print("  links by rule: " + ", ".join(f"{k} {v:,}" for k, v in sorted(how.items())))
    auto_right = auto_wrong = fuzzy_right = fuzzy_wrong = reviewed = with_truth = 0
    per_kind: dict[str, Counter[str]] = {}
    for p, link in zip(planted, links, strict=True):
        truth = None if p.truth is None else p.truth + first
        counts = per_kind.setdefault(p.kind, Counter())
        counts["n"] += 1
        if truth is not None:
            with_truth += 1
        if link.how != "new":
            right = link.person_id == truth
            auto_right += right
            auto_wrong += not right
            if link.how == "fuzzy":
                fuzzy_right += right
                fuzzy_wrong += not right
            counts["linked" if right else "WRONG"] += 1
        elif truth is not None and truth in link.review:
            reviewed += 1
            counts["review"] += 1
        elif link.review:
            counts["review (not the same)"] += 1
    precision = auto_right / max(1, auto_right + auto_wrong)
    print(f"  automatic links: precision {precision:.4f} ({auto_wrong} wrong of {auto_right + auto_wrong:,}); "
          f"fuzzy tier {fuzzy_right:,} right, {fuzzy_wrong} wrong")
    print(f"  recall: automatic {auto_right / max(1, with_truth):.3f}, "
          f"with the review queue {(auto_right + reviewed) / max(1, with_truth):.3f} "
          f"(of {with_truth:,} records that have a file); {pairs:,} pairs queued for review")
    for kind, counts in sorted(per_kind.items()):
        detail = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()) if k != "n")
        print(f"    {kind:34s} {counts['n']:7,}  {detail}")


if __name__ == "__main__":
    on_each_backend(bench)
