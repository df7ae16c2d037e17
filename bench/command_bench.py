"""Command benchmark (issue 16): the command centre's picture at city scale.

Data: 1,000,000 person files, 10,000,000 passages (≈ 15 M persons checked) over 30 days, 100,000 leads
with their legs, 300,000 follow-ups, on SQLite and PostgreSQL. Measured:

- the nightly roll-up of the month (setup for the rest; printed);
- the dashboard's data (`GET /command/data`, the city) and the big screen's (`GET /screen/data`),
  through HTTP, median of 5; targets < 1 s;
- the city's daily report: today's roll-up rebuilt from the raw rows, then the report built and written
  as Excel; target < 5 s;
- a 100,000-row Excel export (one checkpoint's day of passages) through the export runner, with the
  Python heap's peak while writing; target < 20 s at constant memory;
- the baseline: the same running totals by district computed the plain way, by aggregate queries over
  the raw tables (passages, persons checked, leads) since the response began; printed as a ratio.

Scale down with BENCH_COMMAND_SCALE=0.01 (all four sizes times the factor).
"""

from __future__ import annotations

import os
import random
import statistics
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from bench.backends import on_each_backend
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.capabilities import platform
from fangkong.checkpoints.models import Checkpoint
from fangkong.command import levels, rollup, summary
from fangkong.core.clock import LOCAL_TZ, local_today
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.models import Unit, UnitKind, User
from fangkong.core.settings import load_settings
from fangkong.demo.build import DEMO_PASSWORD, build_demo
from fangkong.leads.models import LeadBatch, LeadSource

SCALE = float(os.environ.get("BENCH_COMMAND_SCALE", "1"))
PERSONS = int(1_000_000 * SCALE)
PASSAGES = int(10_000_000 * SCALE)
LEADS = int(100_000 * SCALE)
FOLLOW_UPS = int(300_000 * SCALE)
EXPORT_ROWS = 100_000  # one checkpoint's day, whatever the scale
DAYS = 30
CHUNK = 100_000


def _copy(db: Database, table: str, columns: list[str], rows) -> int:  # type: ignore[no-untyped-def]
    """Insert rows fast: COPY on PostgreSQL, executemany in one transaction on SQLite."""
    n = 0
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.engine.dialect.name == "postgresql":
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        else:
            marks = ", ".join("?" for _ in columns)
            batch = []
            for row in rows:
                batch.append(tuple(_sqlite(v) for v in row))
                if len(batch) == CHUNK:
                    cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)
                    n += len(batch)
                    batch = []
            if batch:
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)
                n += len(batch)
        raw.commit()
    finally:
        raw.close()
    return n


def _sqlite(value):  # type: ignore[no-untyped-def]
    """A value as SQLAlchemy's SQLite dialect stores it (timestamps: naive UTC text, microseconds)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _max_id(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())


def _seed(db: Database, today: date) -> dict[str, int]:
    rng = random.Random(16)
    now = datetime.now(UTC)
    first_day = datetime.combine(today - timedelta(days=DAYS - 1), datetime.min.time(), LOCAL_TZ).astimezone(UTC)
    with db.sessions() as s:
        stations = list(s.execute(sa.select(Unit.id).where(Unit.kind == UnitKind.STATION)).scalars())
        checkpoints = list(s.execute(sa.select(Checkpoint.id).order_by(Checkpoint.id)).scalars())
        city = s.execute(sa.select(Unit.id).where(Unit.code == "620100")).scalar_one()
    person0 = _max_id(db, "persons") + 1
    _copy(db, "persons", ["id", "name", "unit_id", "unconfirmed", "created_at", "updated_at"],
          ((person0 + i, f"人员{i}", stations[i % len(stations)], False, now, now) for i in range(PERSONS)))
    # passages: busy checkpoints take most of the traffic (the first fifth of them, 70 %)
    busy = checkpoints[: max(1, len(checkpoints) // 5)]
    span = DAYS * 86400
    passage0, people0 = _max_id(db, "passages") + 1, _max_id(db, "passage_people") + 1
    plan = []
    for i in range(PASSAGES):
        cp = rng.choice(busy) if rng.random() < 0.7 else rng.choice(checkpoints)
        at = first_day + timedelta(seconds=rng.randrange(span))
        plan.append((passage0 + i, f"bench-{i}", cp, at, f"甘A{i % 100000:05d}" if rng.random() < 0.8 else None))
    _copy(db, "passages", ["id", "client_id", "checkpoint_id", "at", "plate", "flags", "recorded_by"],
          ((pid, client, cp, at, plate, "", "bench") for pid, client, cp, at, plate in plan))

    def people():  # type: ignore[no-untyped-def]
        n = people0
        for pid, _client, _cp, _at, _plate in plan:
            for role in ("driver", "passenger")[: 1 + (rng.random() < 0.5)]:
                t = round(rng.gauss(36.5, 0.3), 1)
                disposition = ("referred" if t >= 37.3 else "turned_back" if rng.random() < 0.01 else "passed")
                yield (n, pid, person0 + rng.randrange(PERSONS), role, "受检人", t, disposition, "")
                n += 1
    checked = _copy(db, "passage_people", ["id", "passage_id", "person_id", "role", "name", "temperature_c",
                                           "disposition", "flags"], people())
    plan.clear()
    # one checkpoint's busiest day, for the export: exactly EXPORT_ROWS persons checked there yesterday
    with db.unit_of_work() as s:
        big = Checkpoint(name="大流量卡口（基准）", kind="toll_gate", unit_id=stations[0])
        s.add(big)
        s.flush()
        big_id = big.id
    yesterday = datetime.combine(today - timedelta(days=1), datetime.min.time(), LOCAL_TZ).astimezone(UTC)
    p0, q0 = _max_id(db, "passages") + 1, _max_id(db, "passage_people") + 1
    _copy(db, "passages", ["id", "client_id", "checkpoint_id", "at", "plate", "flags", "recorded_by"],
          ((p0 + i, f"export-{i}", big_id, yesterday + timedelta(seconds=i * 0.8), f"甘B{i:05d}", "", "bench")
           for i in range(EXPORT_ROWS)))
    _copy(db, "passage_people", ["id", "passage_id", "person_id", "role", "name", "id_number", "temperature_c",
                                 "disposition", "flags"],
          ((q0 + i, p0 + i, person0 + i % PERSONS, "driver", "=HYPERLINK(\"x\")" if i == 0 else "司机",
            "620102199001011234", 36.6, "passed", "") for i in range(EXPORT_ROWS)))
    # leads: one police leg each, received over the month; 90 % verified, most on time
    with db.unit_of_work() as s:
        source = LeadSource(name="基准来源")
        s.add(source)
        s.flush()
        lead_batch = LeadBatch(source_id=source.id, channel="api", unit_id=city, received_by="bench")
        s.add(lead_batch)
        s.flush()
        source_id, batch = source.id, lead_batch.id
    lead0, leg0 = _max_id(db, "leads") + 1, _max_id(db, "lead_legs") + 1
    leads, legs = [], []
    for i in range(LEADS):
        received = first_day + timedelta(seconds=rng.randrange(span))
        due = received + timedelta(hours=2 if i % 3 == 0 else 12)
        verified = received + timedelta(minutes=rng.randrange(30, 900)) if rng.random() < 0.9 else None
        unit = stations[i % len(stations)]
        status = "verified" if verified else "dispatched"
        leads.append((lead0 + i, f"bench-{i}", source_id, batch, "urgent" if i % 3 == 0 else "normal", unit, status,
                      received, "线索"))
        legs.append((leg0 + i, lead0 + i, "police", unit, "verified" if verified else "open", due, verified))
    _copy(db, "leads", ["id", "dedupe_key", "source_id", "batch_id", "priority", "unit_id", "status", "received_at",
                        "name"], leads)
    _copy(db, "lead_legs", ["id", "lead_id", "kind", "unit_id", "status", "due_at", "verified_at"], legs)
    # follow-ups: 14 days of observation each
    people_observed = max(1, FOLLOW_UPS // 14)
    rs0, ob0, fu0 = _max_id(db, "risk_statuses") + 1, _max_id(db, "observations") + 1, _max_id(db, "follow_ups") + 1
    _copy(db, "risk_statuses", ["id", "person_id", "status", "since", "set_by", "reason"],
          ((rs0 + i, person0 + i, "close_contact", now - timedelta(days=7), "bench", "bench")
           for i in range(people_observed)))
    _copy(db, "observations", ["id", "person_id", "risk_status_id", "kind", "start", "planned_end", "test_days",
                               "profile"],
          ((ob0 + i, person0 + i, rs0 + i, "centralised_quarantine", now - timedelta(days=7),
            now + timedelta(days=7), "1,4,7,14", "edition-9") for i in range(people_observed)))
    _copy(db, "follow_ups", ["id", "observation_id", "person_id", "day", "day_no", "phase", "method", "test_due",
                             "symptoms"],
          ((fu0 + n, ob0 + i, person0 + i, today - timedelta(days=7 - d), d + 1, "observation", "call", False, "")
           for n, (i, d) in enumerate((i, d) for i in range(people_observed) for d in range(14))))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            for table in ("persons", "passages", "passage_people", "leads", "lead_legs", "lead_batches",
                          "lead_sources", "risk_statuses", "observations", "follow_ups"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
            conn.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with db.engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
    return {"checked": checked, "export_checkpoint": big_id}


def _median(fn, n: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _plain_running_totals(db: Database, since: datetime) -> list[tuple]:  # type: ignore[type-arg]
    """The baseline: running totals by district computed from the raw rows, as one would without roll-ups."""
    with db.engine.connect() as conn:
        districts = conn.execute(sa.text("SELECT id, path FROM units WHERE kind = 'district'")).all()
        rows = []
        for d_id, d_path in districts:
            like = {"p": d_path + "%", "since": since}
            vehicles = conn.execute(sa.text(
                "SELECT count(*) FROM passages p JOIN checkpoints c ON c.id = p.checkpoint_id "
                "JOIN units u ON u.id = c.unit_id WHERE u.path LIKE :p AND p.at >= :since AND p.plate IS NOT NULL"),
                like).scalar_one()
            persons = conn.execute(sa.text(
                "SELECT count(*), sum(CASE WHEN pp.temperature_c >= 37.3 THEN 1 ELSE 0 END), "
                "sum(CASE WHEN pp.disposition = 'referred' THEN 1 ELSE 0 END), "
                "sum(CASE WHEN pp.disposition = 'turned_back' THEN 1 ELSE 0 END) "
                "FROM passage_people pp JOIN passages p ON p.id = pp.passage_id "
                "JOIN checkpoints c ON c.id = p.checkpoint_id JOIN units u ON u.id = c.unit_id "
                "WHERE u.path LIKE :p AND p.at >= :since"), like).one()
            leads = conn.execute(sa.text(
                "SELECT count(*) FROM leads l JOIN units u ON u.id = l.unit_id "
                "WHERE u.path LIKE :p AND l.received_at >= :since"), like).scalar_one()
            verified = conn.execute(sa.text(
                "SELECT count(*), sum(CASE WHEN g.verified_at <= g.due_at THEN 1 ELSE 0 END) FROM lead_legs g "
                "JOIN units u ON u.id = g.unit_id WHERE u.path LIKE :p AND g.verified_at >= :since"), like).one()
            rows.append((d_id, vehicles, *persons, leads, *verified))
        return rows


def bench(url: str, label: str, var: Path) -> None:
    upgrade(url)
    settings = load_settings(var_dir=var / label, database_url=url, secret_key="b" * 40, argon2_memory_kib=64,
                             argon2_time_cost=1, demo=True, scheduler=False)
    db = Database(url, audit_key=settings.audit_key)
    build_demo(db, settings, size=200, seed=16)
    today = local_today()
    print(f"{label}: seeding {PERSONS:,} persons, {PASSAGES:,} passages, {LEADS:,} leads, "
          f"{FOLLOW_UPS:,} follow-ups …", flush=True)
    started = time.perf_counter()
    seeded = _seed(db, today)
    print(f"  seeded in {time.perf_counter() - started:.0f} s ({seeded['checked']:,} persons checked)", flush=True)
    plat = platform()
    plat.grant_permissions()
    kinds = plat.figure_kinds
    began = today - timedelta(days=DAYS - 1)
    with acting_as(Actor(username="bench")), db.unit_of_work() as s:
        command = s.execute(sa.select(User).where(User.username == "command")).unique().scalar_one()
        levels.set_level(s, command, 2, began, "基准", today)
    started = time.perf_counter()
    with db.unit_of_work() as s:
        rollup.rebuild_days(s, plat, began, today)
    month = time.perf_counter() - started
    print(f"  roll-up of {DAYS} days from the raw rows (the nightly job's work)         {month:7.2f} s", flush=True)

    app = create_app(settings, db)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", json={"username": "command", "password": DEMO_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        screen = TestClient(app)
        screen.post("/login", data={"username": "screen", "password": DEMO_PASSWORD,
                                    "csrf_token": _csrf(screen), "next": "/screen"})
        assert client.get("/command/data", headers=headers).status_code == 200
        dash = _median(lambda: client.get("/command/data", headers=headers).raise_for_status())
        assert screen.get("/screen/data").status_code == 200
        big = _median(lambda: screen.get("/screen/data").raise_for_status())
    since = datetime.combine(began, datetime.min.time(), LOCAL_TZ).astimezone(UTC)
    plain = _median(lambda: _plain_running_totals(db, since), n=3)
    print(f"  dashboard data, the city (GET /command/data, median of 5)                 {dash * 1000:7.0f} ms"
          f"   target < 1 s", flush=True)
    print(f"  big-screen data (GET /screen/data, median of 5)                           {big * 1000:7.0f} ms"
          f"   target < 1 s", flush=True)
    print(f"  baseline: the same running totals by district from the raw tables          {plain * 1000:7.0f} ms"
          f"   → roll-ups {plain / dash:,.0f}× faster", flush=True)

    def daily_report() -> int:
        with db.unit_of_work() as s:
            rollup.rebuild_day(s, plat, today)
        with db.sessions() as s:
            user = s.execute(sa.select(User).where(User.username == "command")).unique().scalar_one()
            return len(summary.summary_xlsx(summary.build_summary(s, user, today, kinds, settings)))
    report = _median(daily_report, n=3)
    print(f"  the city's daily report: today's roll-up + report + Excel (median of 3)   {report:7.2f} s"
          f"   target < 5 s", flush=True)

    exports = app.state.exports
    with db.unit_of_work() as s:
        user = s.execute(sa.select(User).where(User.username == "command")).unique().scalar_one()
        params = {"checkpoint_id": str(seeded["export_checkpoint"]),
                  "day": (today - timedelta(days=1)).isoformat()}
        runs = [exports.request(s, user, "checkpoints.passages", params).id for _ in range(2)]
    started = time.perf_counter()
    exports.write(runs[0])
    export = time.perf_counter() - started
    tracemalloc.start()
    exports.write(runs[1])
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with db.sessions() as s:
        done = s.execute(sa.text("SELECT done, status FROM export_runs WHERE id = :i"), {"i": runs[0]}).one()
    size = (settings.export_dir / f"{_token(db, runs[0])}.xlsx").stat().st_size
    print(f"  Excel export of {done[0]:,} rows ({done[1]}, {size / 1e6:.1f} MB)                          "
          f"{export:7.2f} s   target < 20 s; Python heap peak while writing {peak / 1e6:.1f} MB", flush=True)
    db.dispose()


def _token(db: Database, run_id: int) -> str:
    with db.sessions() as s:
        return str(s.execute(sa.text("SELECT token FROM export_runs WHERE id = :i"), {"i": run_id}).scalar_one())


def _csrf(c: TestClient) -> str:
    c.get("/login")
    return c.cookies.get("fk_csrf", "")


if __name__ == "__main__":
    on_each_backend(bench)
