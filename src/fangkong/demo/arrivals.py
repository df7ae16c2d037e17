"""The demo city's public registrations: arrivals (a few from or through the demo risk area, which
become leads) and gatherings with attendees, all through the registration use cases."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.models import Unit
from fangkong.core.settings import Settings
from fangkong.people.models import Person
from fangkong.registration.arrivals.service import ArrivalInput, register_arrival, today
from fangkong.registration.gatherings.service import AttendeeInput, GatheringInput, register_gathering

DISTRICT = "620105"  # 安宁: away from the personas' districts, so their queues start empty
# (origin code, origin text, route, transport, number or plate)
TRIPS = [
    ("610100", "", "", "train", "D2687"), ("510100", "", "", "flight", "CA4411"), ("110105", "", "", "flight",
                                                                                     "MU2411"),
    ("630100", "", "", "car", "青A3K921"), ("420100", "武昌区", "", "train", "K1353"),
    ("310104", "", "武汉", "train", "Z55"), ("640100", "", "", "coach", ""), ("420100", "", "", "flight", "MU2511"),
]


def build_registrations(session: Session, rng: random.Random, settings: Settings) -> tuple[int, int]:
    """Register the demo arrivals and gatherings; return how many of each."""
    district = session.execute(select(Unit).where(Unit.code == DISTRICT)).scalar_one()
    residents = list(session.execute(select(Person).join(Unit, Unit.id == Person.unit_id)
                                     .where(Unit.path.startswith(district.path)).order_by(Person.id)
                                     .limit(len(TRIPS) + 8)).scalars())
    if len(residents) < len(TRIPS) + 6:
        return 0, 0  # a tiny demo city: nobody to register
    day = today()
    for person, (origin, text, route, transport, number) in zip(residents, TRIPS, strict=False):
        arrived = day - timedelta(days=rng.randrange(0, 4))
        register_arrival(session, ArrivalInput(
            name=person.name, doc_number=person.id_number or "", phone=person.phone or "", origin_code=origin,
            origin_text=text, route=route, departed_on=(arrived - timedelta(days=1)).isoformat(),
            arrived_on=arrived.isoformat(), transport=transport,
            transport_number=number if transport in ("train", "flight") else "",
            plate=number if transport == "car" else "", destination_address=person.current_address or "",
            temperature_c=f"{rng.uniform(36.1, 37.0):.1f}", test_result="negative",
            test_on=(arrived - timedelta(days=1)).isoformat(), consent=True),
            settings.registration_retention_days, settings.protocol_profile)
    guests = residents[len(TRIPS) - 2:]
    attendees = [AttendeeInput(name=p.name, doc_number=p.id_number or "", phone=p.phone or "") for p in guests[:5]]
    address = guests[0].current_address or ""
    for kind, title, offset, start, end in (("wedding", "安宁区婚宴（示例）", -1, "11:30", "14:30"),
                                            ("market", "安宁堡集市（示例）", 2, "08:00", "")):
        register_gathering(session, GatheringInput(
            kind=kind, title=title, date=(day + timedelta(days=offset)).isoformat(), start_time=start,
            end_time=end, address=address, expected_size="80", organiser_name=guests[-1].name,
            organiser_phone=guests[-1].phone or ""), attendees if kind == "wedding" else attendees[:2],
            settings.registration_retention_days)
    return len(TRIPS), 2
