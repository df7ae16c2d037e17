"""The demo city's recent movements, so that tracing has something to find: ten days of stays for every
demo person (nights at home with the household, outings to a few dozen named markets, shops and bus
lines), written into the presence store as one labelled part, and one confirmed case ready to trace.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.context import acting_as
from fangkong.core.db import Database
from fangkong.core.models import User
from fangkong.core.presence import PresenceRecord
from fangkong.demo.build import DEMO_ACTOR
from fangkong.observation.status import change_status
from fangkong.people.models import Person
from fangkong.tracing.store import PresenceStore
from fangkong.tracing.sync import platform_key

DAYS = 10
VENUES = ("张掖路农贸市场", "东方红广场超市", "西关十字药店", "南关什字火锅店", "庆阳路影城", "雁滩批发市场",
          "兰州西站候车厅", "小西湖菜市场", "五泉山公园", "中山路理发店", "白银路面馆", "民主西路健身房")
BUS_LINES = ("1路", "10路", "34路", "105路", "137路")
ZONES = "ABCDEF"
LABEL = "demo:outbreak"


@dataclass(frozen=True)
class DemoOutbreak:
    records: int
    case_person_id: int


def build_outbreak(db: Database, store: PresenceStore, seed: int = 2020, now: datetime | None = None) -> DemoOutbreak:
    """Write the demo movements into the store and confirm one demo person (by the demo health user)."""
    rng = random.Random(seed)
    now = now or datetime.now(LOCAL_TZ)
    with acting_as(DEMO_ACTOR), db.unit_of_work() as session:
        people = session.execute(select(Person.id, Person.current_address).order_by(Person.id)).all()
        homes: dict[str, list[int]] = defaultdict(list)
        for pid, address in people:
            homes[address or f"none-{pid}"].append(pid)
        records = _stays(rng, homes, now)
        store.append(records, label=LABEL)
        health = session.execute(select(User).where(User.username == "health")).scalar_one()
        case = max(homes.values(), key=len)[0]  # in a big household: household contacts to find
        change_status(session, health, case, "confirmed", "演示：核酸检测阳性", "演示数据", profile_name="edition-9")
    return DemoOutbreak(len(records), case)


def _stays(rng: random.Random, homes: dict[str, list[int]], now: datetime) -> list[PresenceRecord]:
    out: list[PresenceRecord] = []
    today = now.date()
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        evening = datetime.combine(day, time(19), LOCAL_TZ)
        for address, members in homes.items():
            for pid in members:
                t_in = evening + timedelta(minutes=rng.randrange(0, 180))
                out.append(PresenceRecord(platform_key(pid), address, "household", t_in,
                                          evening + timedelta(hours=12, minutes=rng.randrange(0, 60)), "demo"))
                for _ in range(rng.choice((0, 1, 1, 2))):
                    start = datetime.combine(day, time(8), LOCAL_TZ) + timedelta(minutes=rng.randrange(0, 600))
                    if rng.random() < 0.7:  # a hall or a counter of a venue: who was there together
                        place, kind = f"{rng.choice(VENUES)}·{rng.choice(ZONES)}区", "venue"
                        minutes = rng.randrange(10, 60)
                    else:  # one bus every half hour: a trip is a place
                        start = start.replace(minute=(start.minute // 30) * 30)
                        place, kind = f"公交{rng.choice(BUS_LINES)} {start:%m-%d %H:%M}班", "vehicle"
                        minutes = rng.randrange(10, 40)
                    out.append(PresenceRecord(platform_key(pid), place, kind, start,
                                              start + timedelta(minutes=minutes), "demo"))
    return [r for r in out if r.t_out <= now]  # type: ignore[operator]
