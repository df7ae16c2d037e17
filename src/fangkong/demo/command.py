"""The demo city's command picture: a level I response from a month ago, the month rolled up, and daily
reports of the last days (some units late, a few missing today) so every page has something true to show."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command.models import DailyReport, ResponseLevel
from fangkong.command.reports import REPORTING_KINDS
from fangkong.command.rollup import rebuild_days
from fangkong.core.capability import Platform
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.models import Unit


def build_command_demo(session: Session, platform: Platform, today: date, seed: int = 2020) -> int:
    """Set the response level, roll the month up and file the last days' reports; return the reports filed."""
    rng = random.Random(seed)
    session.add(ResponseLevel(level=1, started_on=today - timedelta(days=30), note="一级响应（演示）", set_by="演示"))
    rebuild_days(session, platform, today - timedelta(days=30), today)
    units = session.execute(select(Unit).where(Unit.kind.in_([str(k) for k in REPORTING_KINDS]))).scalars().all()
    filed = 0
    for back in range(3, -1, -1):
        day = today - timedelta(days=back)
        for unit in units:
            if back == 0 and rng.random() < 0.4:
                continue  # today: some units have not reported yet
            at = datetime.combine(day, time(16, rng.randint(0, 59)), LOCAL_TZ)
            late = rng.random() < 0.1
            if late:
                at += timedelta(hours=2)
            cadres = rng.randint(10, 40) if unit.kind == "station" else 0
            values = {"command.cadres": cadres, "command.compounds_closed": rng.randint(3, 30) if cadres else 0}
            session.add(DailyReport(unit_id=unit.id, day=day, values=json.dumps(values), note="",
                                    submitted_at=at, submitted_by=f"{unit.name}值班员", late=late))
            filed += 1
    return filed
