"""A month of checkpoint passages for the demo city, so the command picture has traffic to count: a few
dozen vehicles a day per checkpoint with their people, the odd fever (referred to health) and a few
turned back. Written through the platform's own passage path (files, flags, referrals, audit)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import Checkpoint
from fangkong.checkpoints.passages import PassageRequest, register_passages
from fangkong.checkpoints.service import PassageInput, PersonInput
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.context import Actor
from fangkong.core.models import User
from fangkong.demo.build import _id_number

PROVINCES = "甘甘甘甘甘甘陕青宁川新鄂豫京"
ORIGINS = ("620102", "620103", "610113", "630104", "640104", "510104", "650102", "410105", "110105")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def build_passage_history(session: Session, today: date, days: int = 30, per_day: int = 30, seed: int = 2020) -> int:
    """Register `per_day` passages a day at each demo checkpoint over the last `days` days; return how many."""
    rng = random.Random(seed)
    officer = session.execute(select(User).where(User.username == "checkpoint")).unique().scalar_one()
    checkpoints = session.execute(select(Checkpoint.id)).scalars().all()
    actor = Actor(username="checkpoint", user_id=officer.id, role="checkpoint")
    used: set[str] = set()
    total = 0
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        requests = [PassageRequest(officer, cp, _passage(rng, day, cp, n, used), actor)
                    for cp in checkpoints for n in range(per_day if back else per_day // 3)]
        for start in range(0, len(requests), 100):
            results = register_passages(session, requests[start:start + 100])
            total += sum(1 for r in results if not isinstance(r, Exception))
    return total


def _passage(rng: random.Random, day: date, checkpoint: int, n: int, used: set[str]) -> PassageInput:
    at = datetime.combine(day, time(rng.randint(6, 21), rng.randint(0, 59)), LOCAL_TZ)
    people = []
    for i in range(rng.choice((1, 1, 2, 2, 3))):
        origin = rng.choice(ORIGINS)
        birth = date(rng.randint(1955, 2004), rng.randint(1, 12), rng.randint(1, 28))
        idn = _id_number(rng, origin, birth, rng.random() < 0.5)
        if idn in used:
            continue
        used.add(idn)
        fever = rng.random() < 0.01
        temp = round(rng.uniform(37.4, 38.6), 1) if fever else round(rng.uniform(36.0, 36.9), 1)
        disposition = "referred" if fever else ("turned_back" if rng.random() < 0.02 else "passed")
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        people.append(PersonInput(name=name, id_number=idn, temperature_c=temp, disposition=disposition,
                                  role="driver" if i == 0 else "passenger"))
    plate = rng.choice(PROVINCES) + "A" + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(5))
    return PassageInput(client_id=f"demo-{day.isoformat()}-{checkpoint}-{n}", plate=plate, at=at,
                        origin=people[0].id_number[:6] if people else "", people=people or [
                            PersonInput(name="张伟", id_number=_id_number(rng, "620102", date(1980, 1, 1), True),
                                        temperature_c=36.5, role="driver")])
