"""A case with hundreds of close contacts (issue 22), seeded into the demo city for page, API and browser tests.

The case (甲) spent four nights at home with three household members, and went to markets, a restaurant,
a bus and a karaoke bar that stayed open past midnight; 300 visitors overlapped with those stays, one
market twice on two days. The visitors live in the areas of six stations of three districts; some give
an address no station owns (the command centre's manual queue) and a few no ID number and no phone (they
cannot be dispatched). The first 60 visitors each live with two others: secondary contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.codes import check_character
from fangkong.core.context import acting_as
from fangkong.core.db import Database
from fangkong.core.models import User
from fangkong.core.presence import PresenceRecord
from fangkong.demo.build import DEMO_ACTOR
from fangkong.leads.dispatch import load_jurisdiction
from fangkong.observation.status import change_status
from fangkong.people.models import Person
from fangkong.tracing.store import PresenceStore
from fangkong.tracing.sync import platform_key

# (street address, how many of the visitors live there)
ADDRESSES = (
    ("兰州市城关区酒泉路街道庆阳路{n}号", 70), ("兰州市城关区张掖路街道中山路{n}号", 40),
    ("兰州市城关区雁南街道雁滩路{n}号", 50), ("兰州市七里河区西园街道西津西路{n}号", 50),
    ("兰州市西固区陈坪街道合水路{n}号", 45), ("兰州市安宁区培黎街道安宁西路{n}号", 35),
    ("地址不详{n}", 10),
)
VENUES = (  # (place, kind, day back from today, start hour:minute, minutes, visitors)
    ("张掖路农贸市场", "venue", 3, "09:10", 70, 70),
    ("南关什字火锅店", "venue", 3, "18:30", 90, 40),
    ("公交34路 03-02 08:00班", "vehicle", 2, "08:00", 35, 30),
    ("东方红广场超市", "venue", 2, "10:00", 60, 60),
    ("张掖路农贸市场", "venue", 1, "09:30", 50, 40),  # the same market again, another day: another group
    ("金嗓子KTV", "venue", 2, "22:10", 260, 60),  # past midnight
)
HOUSEHOLD = "兰州市城关区酒泉路街道庆阳路1号"
NIGHTS = 4


def ident(n: int) -> str:
    first = f"62010219770707{n:03d}"
    return first + check_character(first)


@dataclass(frozen=True)
class BigCase:
    index: int  # the case's person file
    household: list[int]
    visitors: list[int]
    secondary: list[int]
    onset: datetime
    by_unit: dict[int, int]  # station/district unit → visitors and household members living in its area


def _at(day_back: int, hhmm: str, now: datetime) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(now.date() - timedelta(days=day_back), time(h, m), LOCAL_TZ)


def seed_big_case(db: Database, store: PresenceStore, now: datetime | None = None) -> BigCase:
    """Write the person files, the case's status and the stays; return who is who."""
    now = now or datetime.now(LOCAL_TZ)
    serial = iter(range(100, 1000))
    with acting_as(DEMO_ACTOR), db.unit_of_work() as s:
        j = load_jurisdiction(s)

        def person(name: str, address: str, number: bool = True) -> Person:
            n = next(serial)
            placed = j.locate(address)
            p = Person(name=name, id_number=ident(n) if number else None, sex="M" if n % 2 else "F",
                       current_address=address, unit_id=placed.unit_id or j.city_unit_id)
            s.add(p)
            return p

        index = person("甲病例", HOUSEHOLD)
        home = [person(f"甲家{i}", HOUSEHOLD) for i in range(3)]
        visitors, addresses = [], [a for a, count in ADDRESSES for _ in range(count)]
        for i, address in enumerate(addresses[:300]):
            visitors.append(person(f"访客{i:03d}", address.format(n=i + 2), number=i % 97 != 5))
        secondary = [person(f"访客{i:03d}家{k}", addresses[i].format(n=i + 2)) for i in range(60) for k in range(2)]
        s.flush()
        by_unit: dict[int, int] = {}
        for p in home + visitors:
            by_unit[p.unit_id] = by_unit.get(p.unit_id, 0) + 1
        health = s.execute(select(User).where(User.username == "health")).scalar_one()
        change_status(s, health, index.id, "confirmed", "核酸检测阳性", "测试", profile_name="edition-9")
        ids = index.id, [p.id for p in home], [p.id for p in visitors], [p.id for p in secondary]
    store.append(_stays(now, *ids), label="test:bigcase")
    return BigCase(ids[0], ids[1], ids[2], ids[3], now - timedelta(days=3, hours=12), by_unit)


def _stays(now: datetime, index: int, home: list[int], visitors: list[int], secondary: list[int]
           ) -> list[PresenceRecord]:
    out: list[PresenceRecord] = []

    def stay(pid: int, place: str, kind: str, t_in: datetime, t_out: datetime) -> None:
        out.append(PresenceRecord(platform_key(pid), place, kind, t_in, min(t_out, now - timedelta(minutes=1)),
                                  "test"))

    for back in range(NIGHTS, 0, -1):  # four nights at home: 19:30 to 07:00 the next day
        evening = _at(back, "19:30", now)
        for k, pid in enumerate([index, *home]):
            stay(pid, HOUSEHOLD, "household", evening + timedelta(minutes=7 * k),
                 evening + timedelta(hours=11, minutes=30))
    offset = 0
    for place, kind, back, hhmm, minutes, count in VENUES:
        t0 = _at(back, hhmm, now)
        stay(index, place, kind, t0, t0 + timedelta(minutes=minutes))
        for i in range(count):
            pid = visitors[(offset + i) % len(visitors)]
            start = t0 + timedelta(minutes=(i * 7) % max(1, minutes - 15))
            stay(pid, place, kind, start, start + timedelta(minutes=20))
        offset += count
    for i, pid in enumerate(visitors[:60]):  # each of the first 60 visitors' households, the night after
        evening = _at(0, "00:30", now) - timedelta(hours=5)
        for other in secondary[2 * i:2 * i + 2]:
            stay(pid, f"{visitors[i]}号户", "household", evening, evening + timedelta(hours=4))
            stay(other, f"{visitors[i]}号户", "household", evening + timedelta(minutes=10),
                 evening + timedelta(hours=4))
    return out



def wait_for_run(client, location: str, timeout: float = 120) -> str:  # type: ignore[no-untyped-def]
    """Poll a dispatch's page (as the browser does) until the job runner has finished it; return the page."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        page = client.get(location, headers={"HX-Request": "true"}).text
        if 'data-run-status="done"' in page or 'data-run-status="failed"' in page or time.monotonic() > deadline:
            return page
        time.sleep(0.2)
