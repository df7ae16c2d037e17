"""Follow-up benchmark (issue 5): generate tomorrow's follow-up lists for 100,000 persons under observation
(one row per open observation, its day of observation, method and test day from the profile), on SQLite
and PostgreSQL; then the same again (idempotent: nothing new), one station's list for the day, and
command's per-district counts.
"""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta
from pathlib import Path

from bench.backends import on_each_backend
from sqlalchemy import func, select

from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database, insert_returning_ids, utcnow
from fangkong.core.migrate import upgrade
from fangkong.core.models import Unit, UnitKind, User
from fangkong.core.protocol import get_profile
from fangkong.core.settings import load_settings
from fangkong.demo.build import build_demo
from fangkong.observation import followups, observations
from fangkong.observation.models import FollowUp, Observation
from fangkong.people.models import Person, RiskStatus

PERSONS = int(os.environ.get("BENCH_FOLLOWUP_PERSONS", "100000"))
STATUSES = ("close_contact", "secondary_contact", "arrival_high", "arrival_medium")


def _seed(db: Database, n: int) -> None:
    """Add n persons, each with a current risk status and an open observation from the edition-9 profile."""
    rng = random.Random(5)
    profile, now = get_profile("edition-9"), utcnow()
    with db.unit_of_work() as s:
        stations = list(s.execute(select(Unit.id).where(Unit.kind == UnitKind.STATION)).scalars())
        person_ids = insert_returning_ids(s, Person, [
            {"name": f"观察对象{i}", "unit_id": rng.choice(stations), "unconfirmed": False, "created_at": now,
             "updated_at": now} for i in range(n)])
        statuses = [STATUSES[i % len(STATUSES)] for i in range(n)]
        starts = [now - timedelta(hours=rng.uniform(1, 24 * 6)) for _ in range(n)]
        status_ids = insert_returning_ids(s, RiskStatus, [
            {"person_id": p, "status": st, "since": t, "set_by": "bench", "reason": "bench"}
            for p, st, t in zip(person_ids, statuses, starts, strict=True)])
        rows = []
        for p, rs, st, t in zip(person_ids, status_ids, statuses, starts, strict=True):
            rule = profile.observation[st]
            end = t + timedelta(days=rule.days)
            rows.append({"person_id": p, "risk_status_id": rs, "kind": rule.kind, "place": None, "start": t,
                         "planned_end": end, "home_monitoring_until": end + timedelta(
                             days=rule.then_home_monitoring_days) if rule.then_home_monitoring_days else None,
                         "test_days": ",".join(map(str, rule.test_days)), "profile": profile.name,
                         "released_at": None, "released_by": None})
        insert_returning_ids(s, Observation, rows)


def _timed(label: str, fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<58} {seconds:7.2f} s   {result}")
    return result


def bench(url: str, label: str, var: Path) -> None:
    upgrade(url)
    settings = load_settings(var_dir=var, database_url=url, secret_key="b" * 40, argon2_memory_kib=64,
                             argon2_time_cost=1, demo=True)
    db = Database(url, audit_key=settings.audit_key)
    build_demo(db, settings, size=2000, seed=5)
    print(f"{label}: seeding {PERSONS:,} persons under observation …", flush=True)
    _timed("seed persons, statuses, observations (setup, not measured)", lambda: _seed(db, PERSONS))
    tomorrow = followups.local_today() + timedelta(days=1)
    with db.sessions() as s:
        station = s.execute(select(User).where(User.username == "station")).unique().scalar_one()
        command = s.execute(select(User).where(User.username == "command")).unique().scalar_one()
        open_obs = s.execute(select(func.count()).select_from(Observation)
                             .where(Observation.released_at.is_(None))).scalar_one()
    print(f"{label}: {open_obs:,} open observations")

    def generate() -> str:
        with db.unit_of_work() as s:
            made = followups.generate_follow_ups(s, tomorrow)
        return f"{made:,} follow-ups created"

    _timed("generate tomorrow's lists for the whole city", generate)
    _timed("the same again (idempotent)", generate)
    with db.sessions() as s:
        tests = s.execute(select(func.count()).select_from(FollowUp).where(FollowUp.day == tomorrow,
                                                                           FollowUp.test_due)).scalar_one()
    print(f"  of which with a test due tomorrow: {tests:,}")

    def station_list() -> str:
        with acting_as(Actor(username="station", user_id=station.id, role="station", unit_id=station.unit_id)), \
                db.unit_of_work() as s:
            listing = followups.day_list(s, s.get(User, station.id), tomorrow)  # type: ignore[arg-type]
        return f"{len(listing.rows):,} rows"

    def counts() -> str:
        with acting_as(Actor(username="command", user_id=command.id, role="command", unit_id=command.unit_id)), \
                db.unit_of_work() as s:
            rows = observations.district_counts(s, s.get(User, command.id), tomorrow)  # type: ignore[arg-type]
        return f"{len(rows)} districts, {sum(r.due for r in rows):,} due"

    _timed("one station's list for tomorrow (page query)", station_list)
    _timed("command: per-district counts for tomorrow", counts)
    db.dispose()


if __name__ == "__main__":
    on_each_backend(bench)
