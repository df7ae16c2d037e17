"""Build the demo city: units with their areas, one user per role, and persons with valid documents.

Deterministic for a (size, seed) pair, and fast: persons are inserted in bulk, with one audit row
for the whole build rather than one per row.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.auth import hash_password
from fangkong.core.codes import check_character, lookup_area
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database
from fangkong.core.models import Role, Unit, UnitArea, UnitKind, User
from fangkong.core.settings import Settings
from fangkong.demo.arrivals import build_registrations
from fangkong.demo.city import CITY, DISTRICTS, GIVEN, ORIGINS, ROADS, SURNAMES
from fangkong.demo.deployments import build_deployments
from fangkong.people.models import Person

DEMO_PASSWORD = "fangkong-demo"
DEMO_ACTOR = Actor(username="system:demo")


@dataclass
class DemoLogin:
    username: str
    role: str
    unit: str
    password: str = DEMO_PASSWORD


@dataclass
class DemoCity:
    logins: list[DemoLogin] = field(default_factory=list)
    units: int = 0
    persons: int = 0
    seconds: float = 0.0
    checkin_path: str = ""  # one venue's public check-in page, printed by `fangkong demo`


def build_demo(db: Database, settings: Settings, size: int = 3000, seed: int = 2020) -> DemoCity:
    """Fill an empty, migrated database with the demo city."""
    started = time.perf_counter()
    rng = random.Random(seed)
    result = DemoCity()
    with acting_as(DEMO_ACTOR), db.unit_of_work() as session:
        if session.execute(select(Unit.id).limit(1)).first():
            raise RuntimeError("the database is not empty; the demo city is built only into an empty one")
        stations = _units(session, result)
        result.logins = _users(session, settings, stations)
        result.persons = _persons(session, rng, stations, size)
        _checkpoints(session, stations)
        _observations(session, settings, seed, stations, size)
        session.flush()
        build_registrations(session, rng, settings)
        result.checkin_path = _venues(session, rng, stations)
        qilihe = next(s.unit for s in stations if s.district_code == "620103")
        build_deployments(session, random.Random(seed + 19), [s.unit for s in stations], qilihe)
        audit.record(session, "demo_build", None, None, size=size, seed=seed, units=result.units,
                     persons=result.persons)
    result.seconds = time.perf_counter() - started
    return result


def _add_unit(session: Session, name: str, code: str, kind: str, parent: Unit | None,
              area_code: str | None = None) -> Unit:
    unit = Unit(name=name, code=code, kind=kind, parent_id=parent.id if parent else None, area_code=area_code,
                path="")
    session.add(unit)
    session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    return unit


@dataclass(frozen=True)
class Station:
    unit: Unit
    district: str  # sub-bureau name
    district_code: str
    areas: tuple[str, ...]


def _units(session: Session, result: DemoCity) -> list[Station]:
    code, name, _city = CITY
    city = _add_unit(session, name, code, UnitKind.CITY, None, code)
    _add_unit(session, "兰州市卫生健康委员会", "620100-WJW", UnitKind.AGENCY, city)
    stations = []
    for area_code, bureau, station_list in DISTRICTS:
        district = _add_unit(session, bureau, area_code, UnitKind.DISTRICT, city, area_code)
        for s_index, (station_name, areas) in enumerate(station_list, start=1):
            unit = _add_unit(session, station_name, f"{area_code}-{s_index:02d}", UnitKind.STATION, district)
            unit.areas = [UnitArea(area_code=area_code, name=a) for a in areas]
            stations.append(Station(unit, bureau, area_code, tuple(areas)))
        _add_unit(session, f"{_county(area_code)}社区工作站", f"{area_code}-SQ", UnitKind.AGENCY, district)
    session.flush()
    result.units = session.query(Unit).count()
    return stations


def _users(session: Session, settings: Settings, stations: list[Station]) -> list[DemoLogin]:
    by_code = {u.code: u for u in session.execute(select(Unit)).scalars()}
    first, other = stations[0], next(s for s in stations if s.district_code != stations[0].district_code)
    plan = [
        ("admin", "系统管理员", Role.ADMIN, by_code["620100"]),
        ("auditor", "审计员", Role.AUDITOR, by_code["620100"]),
        ("command", "指挥中心值班员", Role.COMMAND, by_code["620100"]),
        ("health", "市卫健委联络员", Role.HEALTH, by_code["620100-WJW"]),
        ("district", f"{first.district}值班员", Role.DISTRICT, by_code[first.district_code]),
        ("station", f"{first.unit.name}民警", Role.STATION, first.unit),
        ("station2", f"{other.unit.name}民警", Role.STATION, other.unit),
        ("checkpoint", "卡口民警", Role.CHECKPOINT, first.unit),
        ("community", "社区干部", Role.COMMUNITY, by_code[f"{first.district_code}-SQ"]),
        ("screen", "指挥大厅大屏", Role.SCREEN, by_code["620100"]),
    ]
    password_hash = hash_password(settings, DEMO_PASSWORD)
    logins = []
    for username, display, role, unit in plan:
        session.add(User(username=username, display_name=display, role=role, unit_id=unit.id,
                         password_hash=password_hash))
        logins.append(DemoLogin(username, role, unit.name))
    session.flush()
    return logins


def _id_number(rng: random.Random, origin: str, birth: date, male: bool) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{origin}{birth:%Y%m%d}{seq:03d}"
    return body + check_character(body)


def _persons(session: Session, rng: random.Random, stations: list[Station], size: int) -> int:
    rows: list[dict[str, object]] = []
    used_ids: set[str] = set()
    used_phones: set[str] = set()
    while len(rows) < size:
        station = rng.choice(stations)
        street = rng.choice(station.areas)
        address = (f"甘肃省兰州市{_county(station.district_code)}{street}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
                   f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 30)}{rng.randint(1, 4):02d}室")
        surname = rng.choice(SURNAMES)
        for _member in range(min(rng.choice((1, 2, 3, 3, 4)), size - len(rows))):
            rows.append(_person(rng, station, surname, address, used_ids, used_phones))
    for start in range(0, len(rows), 1000):
        session.execute(insert(Person), rows[start:start + 1000])
    return len(rows)


def _county(code: str) -> str:
    area = lookup_area(code)
    return area.name if area else code


def _person(rng: random.Random, station: Station, surname: str, address: str, used_ids: set[str],
            used_phones: set[str]) -> dict[str, object]:
    male = rng.random() < 0.5
    while True:
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 75))
        origin = station.district_code if rng.random() < 0.7 else rng.choice(ORIGINS)
        number = _id_number(rng, origin, birth, male)
        if number not in used_ids:
            used_ids.add(number)
            break
    while True:
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        if phone not in used_phones:
            used_phones.add(phone)
            break
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return {
        "name": surname + given, "id_number": number, "phone": phone, "sex": "M" if male else "F",
        "birth_date": birth, "current_address": address, "household_address": address,
        "area_code": station.district_code, "unit_id": station.unit.id,
    }


def _checkpoints(session: Session, stations: list[Station]) -> None:
    """Two city-entry checkpoints with the demo checkpoint officer posted, and a risk area to flag."""
    from datetime import UTC, datetime

    from fangkong.checkpoints.models import Checkpoint, CheckpointPost
    from fangkong.core.riskareas import RiskArea

    officer = session.execute(select(User).where(User.username == "checkpoint")).scalar_one()
    chengguan = stations[0].unit.parent_id
    for name, kind, location, lanes in (("柳沟河检查站", "ring_station", "G30连霍高速柳沟河", 4),
                                        ("兰州东收费站", "toll_gate", "G30连霍高速兰州东出口", 6)):
        checkpoint = Checkpoint(name=name, kind=kind, location=location, unit_id=chengguan, lanes=lanes,
                                seconds_per_vehicle=90)
        session.add(checkpoint)
        session.flush()
        session.add(CheckpointPost(checkpoint_id=checkpoint.id, user_id=officer.id))
    session.add(RiskArea(area_code="420106", name=None, level="high", valid_from=datetime(2020, 1, 23, tzinfo=UTC)))


# Days since the last exposure of the demo observations: 7-day periods end today, tomorrow, later, or have ended.
_EXPOSURE_AGES = (6, 5, 1, 2, 3, 0, 4, 7, 6)
_DEMO_STATUSES = ("close_contact", "close_contact", "secondary_contact", "arrival_high", "close_contact",
                  "arrival_medium")


def _observations(session: Session, settings: Settings, seed: int, stations: list[Station], size: int) -> None:
    """Persons under observation in the demo station and in 七里河区, care teams and two days of follow-ups.

    Its own random stream, and never a station's first five persons, so the rest of the city is unchanged."""
    from fangkong.core.db import utcnow
    from fangkong.core.protocol import get_profile
    from fangkong.observation.models import CareTeam, CareTeamMember, Observation
    from fangkong.people.models import RiskStatus

    rng = random.Random(seed + 5)
    users = {u.username: u for u in session.execute(select(User)).unique().scalars()}
    first = stations[0]
    qilihe = [s for s in stations if s.district_code == "620103"][:2]
    plan = [(first, max(9, size // 150)), *((s, max(3, size // 400)) for s in qilihe)]
    profile, now = get_profile(settings.protocol_profile), utcnow()
    index = 0
    for station, count in plan:
        ids = session.execute(select(Person.id).where(Person.unit_id == station.unit.id).order_by(Person.id)
                              .offset(5).limit(count)).scalars().all()
        for person_id in ids:
            status = _DEMO_STATUSES[index % len(_DEMO_STATUSES)]
            rule = profile.observation[status]
            start = now - timedelta(days=_EXPOSURE_AGES[index % len(_EXPOSURE_AGES)], hours=rng.randint(1, 6))
            index += 1
            entry = RiskStatus(person_id=person_id, status=status, since=start + timedelta(hours=3),
                               set_by="指挥中心值班员", reason="流调判定（演示数据）")
            session.add(entry)
            session.flush()
            end = start + timedelta(days=rule.days)
            obs = Observation(person_id=person_id, risk_status_id=entry.id, kind=rule.kind,
                              place="集中隔离酒店（演示）" if rule.kind == "centralised_quarantine" else "居家",
                              start=start, planned_end=end, profile=profile.name,
                              home_monitoring_until=end + timedelta(days=rule.then_home_monitoring_days)
                              if rule.then_home_monitoring_days else None,
                              test_days=",".join(map(str, rule.test_days)))
            session.add(obs)
            session.flush()
            if station is first:
                team = CareTeam(observation_id=obs.id, person_id=person_id)
                team.members = [CareTeamMember(team_role=role, user_id=users[name].id, assigned_by="指挥中心值班员")
                                for role, name in (("officer", "station"), ("cadre", "community"),
                                                   ("doctor", "health"))]
                session.add(team)
    session.flush()
    _follow_ups(session, rng, now)


def _follow_ups(session: Session, rng: random.Random, now: datetime) -> None:
    """Yesterday's follow-ups mostly done (two missed), today's partly done, one with fever referred to health
    (and received)."""
    from fangkong.observation import followups
    from fangkong.observation.models import FollowUp, Referral

    today = followups.local_today()
    for day in (today - timedelta(days=1), today):
        followups.generate_follow_ups(session, day)
        rows = session.execute(select(FollowUp).where(FollowUp.day == day).order_by(FollowUp.id)).scalars().all()
        for i, f in enumerate(rows):
            if (day < today and i < 2) or (day == today and i % 2 == 0):
                continue  # missed yesterday / still to do today
            f.done_at, f.done_by = min(now, now - timedelta(days=(today - day).days, hours=1)), "社区干部"
            f.temperature_c = round(rng.uniform(36.1, 37.0), 1)
            f.test_result = "negative" if f.test_due else None
            if day == today and i == 1:
                f.temperature_c, f.symptoms = 38.1, "cough"
                # Already received by health: the demo shows a closed loop, and health's queue stays the tests'.
                referral = Referral(source="follow_up", person_id=f.person_id, at=f.done_at,
                                    reason="随访发现：体温 38.1 °C，咳嗽", acknowledged_by="市卫健委联络员",
                                    acknowledged_at=f.done_at + timedelta(minutes=20), note="已安排发热门诊")
                session.add(referral)
                session.flush()
                f.referral_id = referral.id
    session.flush()


DEMO_VENUES = (  # (station index, name, kind, address)
    (0, "庆阳路农贸市场", "market", "城关区庆阳路88号"),
    (0, "酒泉路大药房", "pharmacy", "城关区酒泉路120号"),
    (0, "金城花园小区", "residential_compound", "城关区酒泉路街道金城花园东门"),
    (0, "西关什字华联超市", "supermarket", "城关区西关什字15号"),
    (0, "星光KTV", "entertainment", "城关区张掖路步行街32号"),
    (1, "兰州市第二人民医院", "hospital", "城关区"),
    (-1, "安宁区桃林村", "village", "安宁区桃林村村委会"),
)


def _venues(session: Session, rng: random.Random, stations: list[Station]) -> str:
    """A handful of venues with codes, today's visits by demo residents, an inspection and a closure.

    Returns the first venue's check-in path (/v/<code>)."""
    from datetime import UTC, datetime

    from fangkong.registration.venues.checkin_limits import new_token
    from fangkong.registration.venues.models import Inspection, Venue, Visit

    now = datetime.now(UTC)
    made = []
    for index, name, kind, address in DEMO_VENUES:
        venue = Venue(name=name, kind=kind, address=address, unit_id=stations[index].unit.id, token=new_token(),
                      active=True, token_issued_at=now)
        session.add(venue)
        made.append(venue)
    session.flush()
    people = session.execute(select(Person.id, Person.name, Person.phone).where(Person.unit_id.in_(
        [s.unit.id for s in stations[:2]])).order_by(Person.id).limit(60)).all()
    visits = []
    for n, (person_id, name, phone) in enumerate(people):
        venue = made[n % 4] if n % 5 else made[rng.randrange(len(made))]
        came = now - timedelta(minutes=rng.randint(5, 600))
        gone = came + timedelta(minutes=rng.randint(5, 90)) if rng.random() < 0.6 else None
        visits.append({"client_id": new_token(), "venue_id": venue.id, "person_id": person_id, "name": name,
                       "phone": phone, "checked_in_at": came,
                       "checked_out_at": gone if gone and gone < now else None})
    if visits:
        session.execute(insert(Visit), visits)
    inspector = "station"
    session.add_all([
        Inspection(venue_id=made[0].id, kind="inspection", status="closed", at=now - timedelta(days=1),
                   note="冷链食品台账齐全", recorded_by=inspector, unit_id=stations[0].unit.id, changed_at=now),
        Inspection(venue_id=made[1].id, kind="inspection", status="open", at=now - timedelta(hours=3),
                   note="退热药购买登记不全，限期整改", recorded_by=inspector, unit_id=stations[0].unit.id),
        Inspection(venue_id=made[4].id, kind="closure", status="open", at=now - timedelta(days=2),
                   note="疫情期间暂停营业", recorded_by=inspector, unit_id=stations[0].unit.id),
    ])
    return f"/v/{made[0].token}"
