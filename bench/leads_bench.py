"""Lead intake benchmark (issue 4): a 10,000-row pushed sheet read, normalised, matched to person files,
dispatched by address and given deadlines, on SQLite and PostgreSQL; then the same rows again.

Target: under 10 s per backend for the first import; the re-import creates no lead.
"""

from __future__ import annotations

import io
import os
import random
import time
from pathlib import Path

from bench.backends import on_each_backend
from openpyxl import Workbook
from sqlalchemy import func, select

from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.models import User
from fangkong.core.settings import load_settings
from fangkong.demo.build import build_demo
from fangkong.demo.city import DISTRICTS, ROADS
from fangkong.leads.models import Lead
from fangkong.leads.sheet_import import import_sheet, preview_sheet
from fangkong.people.models import Person

ROWS = int(os.environ.get("BENCH_LEAD_ROWS", "10000"))
PERSONS = int(os.environ.get("BENCH_LEAD_PERSONS", "20000"))


def make_sheet(persons: list[Person], rows: int, seed: int = 1, title: str = "第12批") -> bytes:
    """Return an .xlsx as upstreams send them: title rows, merged cells, odd headers, repeats."""
    rng = random.Random(seed)
    book = Workbook()
    ws = book.active
    ws.append([f"兰州市疫情防控指挥部推送线索（{title}）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
    ws.append(["推送单位：省指挥部", None, None, "推送时间：2020年2月3日"])
    ws.append(["序号", "姓名", "身份证号码", "联系电话", "现居住地址", "来源地", "推送时间", "线索类型"])
    streets = [(d[0], s, a) for d in DISTRICTS for s, areas in d[2] for a in areas]
    for n in range(1, rows + 1):
        if n > 1 and rng.random() < 0.02:  # upstream sheets repeat rows
            ws.append([n, *[c.value for c in ws[ws.max_row]][1:]])
            continue
        person = rng.choice(persons)
        _code, _station, street = rng.choice(streets)
        address = f"兰州市{street}{rng.choice(ROADS)}{rng.randint(1, 300)}号" if rng.random() < 0.95 else "不详"
        known = rng.random() < 0.7
        ws.append([n, person.name if known else f"新人{n}", person.id_number if known else None,
                   person.phone if known or rng.random() < 0.5 else f"139{n:08d}", address, "湖北省武汉市",
                   f"2020年2月{rng.randint(1, 9)}日 {rng.randint(8, 22)}:{rng.randint(0, 59):02d}", "重点地区来返人员"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bench(url: str, label: str, var: Path) -> None:
    upgrade(url)
    settings = load_settings(var_dir=var, database_url=url, secret_key="b" * 40, argon2_memory_kib=64,
                             argon2_time_cost=1, demo=True)
    db = Database(url, audit_key=settings.audit_key)
    build_demo(db, settings, size=PERSONS, seed=5)
    with db.sessions() as s:
        persons = list(s.execute(select(Person).limit(5000)).unique().scalars())
        command = s.execute(select(User).where(User.username == "command")).unique().scalar_one()
    data = make_sheet(persons, ROWS)
    again = make_sheet(persons, ROWS, title="第12批（重发）")  # the same rows in a different file
    actor = Actor(username="command", user_id=command.id, role="command", unit_id=command.unit_id)
    timings = {}
    for name, payload in (("first import", data), ("same rows, new file", again), ("same file again", data)):
        started = time.perf_counter()
        with acting_as(actor), db.unit_of_work() as s:
            user = s.get(User, command.id)
            preview = preview_sheet(s, user, settings, "省指挥部", "leads.xlsx", payload)
            _batch, result = import_sheet(s, user, settings, "省指挥部", preview.sha256, "leads.xlsx", {})
        timings[name] = (time.perf_counter() - started, result.new if result else 0)
    with db.sessions() as s:
        leads = s.execute(select(func.count(Lead.id))).scalar_one()
        by_status = dict(s.execute(select(Lead.status, func.count()).group_by(Lead.status)).all())
    db.dispose()
    for name, (seconds, new) in timings.items():
        print(f"{label:10s} {name:22s} {seconds:6.2f} s   new leads: {new}")
    print(f"{label:10s} leads in database: {leads} {by_status}")


def main() -> None:
    print(f"sheet of {ROWS} rows; city of {PERSONS} person files (preview + import + match + dispatch, timed together)")
    on_each_backend(bench)

if __name__ == "__main__":
    main()
