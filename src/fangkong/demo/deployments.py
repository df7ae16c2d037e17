"""The demo city's police work: posts with a month of rosters (两组三班 and 24-hour watches), officers
sent down (下沉) from 七里河 to 城关, patrols the stations typed into the daily log, a few dozen offence
cases of the period, and supervision visits with their rectification items.

Rows go in through the Core tables in bulk (a month of rosters is a few thousand rows): the build adds
well under a second, and one audit row covers it, as for the rest of the demo city."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import insert_returning_ids, insert_rows
from fangkong.core.models import Unit, User
from fangkong.demo.city import GIVEN, SURNAMES
from fangkong.deployments.models import (
    CasePerson,
    LogCorrection,
    OffenceCase,
    Post,
    RectificationItem,
    Secondment,
    Seizure,
    Shift,
    ShiftMember,
    SupervisionVisit,
)
from fangkong.people.models import Person

DAYS = 30


@dataclass(frozen=True)
class DemoPost:
    name: str
    kind: str
    location: str
    station: int | None  # index into the stations; None: the district sub-bureau of the first station
    strength: int
    watch_24h: bool = False


POSTS = (
    DemoPost("柳沟河检查站", "checkpoint", "G30连霍高速柳沟河", None, 4),
    DemoPost("兰州东收费站", "checkpoint", "G30连霍高速兰州东出口", None, 4),
    DemoPost("兰州市第二人民医院（定点医院）", "hospital", "城关区", 1, 3, watch_24h=True),
    DemoPost("城关区集中隔离观察点（金城宾馆）", "observation_site", "城关区酒泉路街道", 0, 3),
    DemoPost("金城花园小区卡点", "compound", "城关区酒泉路街道金城花园东门", 0, 2),
    DemoPost("西园街道留观点", "observation_site", "七里河区西园街道", -1, 2, watch_24h=True),
)


def _names(rng: random.Random, n: int, used: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if name not in used:
            used.add(name)
            out.append(name)
    return out


def _local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ) + timedelta(hours=hour)


def build_deployments(session: Session, rng: random.Random, station_units: list[Unit], qilihe: Unit) -> None:
    """Add posts, a month of rosters, secondments, log corrections, cases and supervision to the demo city."""
    today = datetime.now(LOCAL_TZ).date()
    users = {u.username: u for u in session.execute(select(User)).unique().scalars()}
    post_ids = _posts(session, station_units, qilihe, users)
    used: set[str] = set()
    seconded = _names(rng, 2, used)
    insert_rows(session, Secondment, [
        {"name": name, "kind": "auxiliary", "home_unit_id": qilihe.id, "unit_id": station_units[0].id,
         "starts_on": today - timedelta(days=DAYS), "ends_on": today + timedelta(days=14), "note": "下沉社区防控",
         "user_id": None} for name in seconded])
    for post, post_id in post_ids:
        unit = _unit_for(post, station_units, qilihe)
        crew = [(name, unit.id) for name in _names(rng, post.strength * 2 + 2, used)]
        if post.kind == "compound":  # the officers sent down stand here, and keep 七里河 as their home unit
            crew = [(name, qilihe.id) for name in seconded] + crew
        _rosters(session, rng, post, (post_id, unit.id), crew, today)
    _patrols(session, rng, station_units[:3], today)
    _cases(session, rng, station_units, today)
    _supervision(session, station_units, {p.name: i for p, i in post_ids}, today)


def _unit_for(post: DemoPost, stations: list[Unit], qilihe: Unit) -> Unit:
    if post.station is None:
        return stations[0].parent  # type: ignore[return-value]
    return qilihe if post.station == -1 else stations[post.station]


def _units_of(post_ids: list[tuple[DemoPost, int]], stations: list[Unit], qilihe: Unit) -> list[Unit]:
    return [_unit_for(p, stations, qilihe) for p, _ in post_ids]


def _posts(session: Session, stations: list[Unit], qilihe: Unit, users: dict[str, User]) -> list[tuple[DemoPost, int]]:
    chief = users["checkpoint"]
    rows = [{"name": p.name, "kind": p.kind, "location": p.location, "unit_id": _unit_for(p, stations, qilihe).id,
             "chief_id": chief.id if p.kind == "checkpoint" else None,
             "chief_name": chief.display_name if p.kind == "checkpoint" else "", "required_strength": p.strength,
             "active": True} for p in POSTS]
    return list(zip(POSTS, insert_returning_ids(session, Post, rows), strict=True))


def _rosters(session: Session, rng: random.Random, post: DemoPost, ids_: tuple[int, int],
             crew: list[tuple[str, int]], today: date) -> None:
    """A month of shifts: two groups take the three shifts in turn (or the 24-hour watch); now and then a
    shift is one officer short, and the post on duty now at the compound is short (the alert shows)."""
    post_id, unit_id = ids_
    plan = [(0, 8), (8, 16), (16, 24)] if not post.watch_24h else [(8, 32)]
    shifts, spans = [], []
    for back in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        for start, end in plan:
            label = "24h" if post.watch_24h else f"{start:02d}-{end:02d}"
            shifts.append({"post_id": post_id, "day": day, "label": label, "starts_at": _local(day, start),
                           "ends_at": _local(day, end)})
            spans.append((day, start))
    ids = insert_returning_ids(session, Shift, shifts)
    half = len(crew) // 2
    members: list[dict[str, int | float | str | None]] = []
    for index, (shift_id, (day, start)) in enumerate(zip(ids, spans, strict=True)):
        group = crew[:half] if index % 2 == 0 else crew[half:]
        short = rng.random() < 0.12 or (post.kind == "compound" and day == today)
        count = min(len(group), post.strength - (1 if short else 0))
        for n, (name, home) in enumerate(group[:count]):
            members.append({"shift_id": shift_id, "kind": "police" if n == 0 else "auxiliary", "name": name,
                            "user_id": None, "home_unit_id": home, "hours": None})
        if post.kind == "checkpoint":
            members.append({"shift_id": shift_id, "kind": "vehicle", "name": f"甘A{post_id}{start:02d}警",
                            "user_id": None, "home_unit_id": unit_id, "hours": None})
        if post.kind in ("checkpoint", "observation_site") and start == 8:
            members.append({"shift_id": shift_id, "kind": "drone", "name": f"UAV-{post_id:02d}", "user_id": None,
                            "home_unit_id": unit_id, "hours": round(rng.uniform(0.5, 2.5), 1)})
        if post.kind == "compound":
            members.append({"shift_id": shift_id, "kind": "volunteer", "name": f"志愿者{index % 5 + 1}号",
                            "user_id": None, "home_unit_id": unit_id, "hours": None})
    insert_rows(session, ShiftMember, members)


def _patrols(session: Session, rng: random.Random, stations: list[Unit], today: date) -> None:
    """Patrols are never on a roster: the stations typed them into the daily log."""
    rows = [{"unit_id": unit.id, "day": today - timedelta(days=back), "field": "patrols",
             "value": float(rng.randint(4, 12)), "previous": 0.0, "reason": "巡逻车组日报",
             "corrected_by": "station", "corrected_at": _local(today - timedelta(days=back), 22)}
            for unit in stations for back in range(1, DAYS)]
    insert_rows(session, LogCorrection, rows)


CASES = (  # (category, title, outcome, seizure)
    ("rumour", "杨某编造疫情管控“通告”案", "administrative_penalty", None),
    ("rumour", "网民在微信群散布封城谣言案", "administrative_penalty", None),
    ("price_gouging", "某药店哄抬口罩价格案", "administrative_penalty", None),
    ("counterfeit", "销售“三无”口罩案", "prosecution", ("“三无”口罩", 104, "箱")),
    ("counterfeit", "制售假冒消毒液案", "detention", ("假冒消毒液", 360, "瓶")),
    ("fraud", "网络销售口罩诈骗案", "detention", None),
    ("obstruction", "隐瞒武汉旅居史妨害传染病防治案", "prosecution", None),
    ("assault_medics", "发热门诊殴打医务人员案", "detention", None),
    ("illegal_roadblock", "村民私设路障阻断交通案", "administrative_penalty", None),
    ("resisting", "拒不配合卡口检查案", "administrative_penalty", None),
    ("other", "聚众打牌拒不解散案", "administrative_penalty", None),
)


def _cases(session: Session, rng: random.Random, stations: list[Unit], today: date) -> None:
    """A few dozen cases over the month; about two in three solved, with the persons dealt with."""
    rows, extra = [], []
    for n in range(36):
        category, title, outcome, seizure = CASES[n % len(CASES)]
        unit = stations[n % 3] if n % 2 == 0 else stations[n % len(stations)]  # the demo personas see some
        received = _local(today - timedelta(days=rng.randint(0, DAYS - 1)), rng.randint(8, 20))
        solved = received + timedelta(hours=rng.randint(3, 96)) if n % 3 else None
        solved = solved if solved and solved.date() <= today else None
        rows.append({"unit_id": unit.id, "number": f"A6201{n:05d}", "title": title, "category": category,
                     "summary": "（演示数据）", "status": "solved" if solved else ("filed" if n % 2 else "received"),
                     "outcome": outcome if solved else None, "received_at": received,
                     "filed_at": received + timedelta(hours=2) if solved or n % 2 else None, "solved_at": solved,
                     "recorded_by": "station"})
        extra.append((unit, seizure))
    ids = insert_returning_ids(session, OffenceCase, rows)
    persons, seizures = [], []
    for case_id, row, (unit, seizure) in zip(ids, rows, extra, strict=True):
        known = session.execute(select(Person.id, Person.name, Person.id_number).where(Person.unit_id == unit.id)
                                .order_by(Person.id).offset(20 + case_id % 7).limit(rng.randint(1, 3))).all()
        persons += [{"case_id": case_id, "person_id": pid, "name": name, "id_number": number,
                     "measure": row["outcome"]} for pid, name, number in known]
        if seizure:
            seizures.append({"case_id": case_id, "item": seizure[0], "quantity": float(seizure[1]),
                             "unit_of_measure": seizure[2]})
    insert_rows(session, CasePerson, persons)
    insert_rows(session, Seizure, seizures)


def _supervision(session: Session, stations: list[Unit], posts: dict[str, int], today: date) -> None:
    """Leaders' visits: one item rectified, one open, one overdue."""
    plan = [(stations[0].parent_id, posts["柳沟河检查站"], 6, "市局副局长", "夜班人员不足，测温枪未校准"),
            (stations[0].id, posts["金城花园小区卡点"], 3, "分局政委", "出入登记不全，外来车辆未逐车登记"),
            (stations[1].id, None, 1, "市局督察支队", "值班备勤落实到位")]
    visits = [{"unit_id": unit_id, "post_id": post_id, "visited_on": today - timedelta(days=back), "leader": leader,
               "findings": findings, "recorded_by": "command"} for unit_id, post_id, back, leader, findings in plan]
    ids = insert_returning_ids(session, SupervisionVisit, visits)
    done = _local(today - timedelta(days=4), 18)
    insert_rows(session, RectificationItem, [
        {"visit_id": ids[0], "description": "增派夜班警力至4人", "due_on": today - timedelta(days=4),
         "status": "rectified", "rectified_at": done, "rectified_by": "district", "note": "已从机动警力增派2人"},
        {"visit_id": ids[0], "description": "测温枪送检校准", "due_on": today - timedelta(days=1), "status": "open",
         "rectified_at": None, "rectified_by": None, "note": ""},
        {"visit_id": ids[1], "description": "外来车辆逐车登记", "due_on": today + timedelta(days=2), "status": "open",
         "rectified_at": None, "rectified_by": None, "note": ""},
    ])
