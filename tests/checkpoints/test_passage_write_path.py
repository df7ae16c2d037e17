"""The lean passage write path (issue 3): what it writes equals what the ORM path wrote, the cached risk
areas follow every change, concurrent retries of one client id make one passage, and cached API tokens
still honour deactivation and revocation."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from bench.checkpoints_orm_path import register_passage_orm
from sqlalchemy import select, update

from fangkong.checkpoints import passages, service
from fangkong.checkpoints.models import Checkpoint, Passage, PassagePerson
from fangkong.core import auth
from fangkong.core.audit import AuditEntry, verify_chain
from fangkong.core.codes import check_character
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import utcnow
from fangkong.core.models import ApiToken, User
from fangkong.core.units import UserInput, update_user
from fangkong.observation.models import Referral
from fangkong.people.models import Person

CHENGDU_ID = "51010719800101001" + check_character("51010719800101001")
WUHAN_ID = "42010619800101001" + check_character("42010619800101001")


def _checkpoint(db) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()


def _post(personas, checkpoint: int, body: dict):  # type: ignore[no-untyped-def]
    return personas.browser("checkpoint").post(f"/api/v1/checkpoints/{checkpoint}/passages", json=body,
                                               headers=personas.headers("checkpoint"))


def _chengdu_car(client_id: str) -> dict:
    return {"client_id": client_id, "plate": "川A12345", "origin": "成都", "people": [
        {"name": "司机", "id_number": CHENGDU_ID, "temperature_c": 36.6, "disposition": "passed", "role": "driver",
         "override_reason": "核实后放行"}]}


def test_a_risk_area_added_flags_the_next_passage_and_ending_it_clears_the_flags(personas, db) -> None:
    cp = _checkpoint(db)
    before = _post(personas, cp, _chengdu_car("rk-1")).json()
    assert before["flags"] == [] and before["people"][0]["flags"] == []
    added = personas.browser("command").post("/api/v1/risk-areas", headers=personas.headers("command"),
                                             json={"area_code": "510100", "level": "high"})
    assert added.status_code == 201, added.text
    after = _post(personas, cp, _chengdu_car("rk-2")).json()
    assert set(after["flags"]) == {"risk_plate", "risk_origin"}
    assert {"risk_plate", "risk_id", "risk_origin"} <= set(after["people"][0]["flags"])
    command = personas.browser("command")
    from tests.support import csrf

    ended = command.post(f"/risk-areas/{added.json()['id']}/end", data={"csrf_token": csrf(command)},
                         follow_redirects=False)
    assert ended.status_code in (303, 302), ended.text
    again = _post(personas, cp, _chengdu_car("rk-3")).json()
    assert again["flags"] == [] and again["people"][0]["flags"] == []


def _officer(db):  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(User).where(User.username == "checkpoint")).unique().scalar_one()


def _register(db, officer, checkpoint: int, data: service.PassageInput, how=passages.register_passage):  # type: ignore[no-untyped-def]
    with db.sessions() as s, s.begin():
        user = s.merge(officer)
        with acting_as(Actor(username=user.username, user_id=user.id, role=user.role, unit_id=user.unit_id)):
            passage, created = how(s, user, checkpoint, data)
            return passage.id, created


def test_concurrent_retries_of_one_client_id_store_one_passage(db) -> None:
    cp, officer = _checkpoint(db), _officer(db)
    data = service.PassageInput(client_id="race-1", plate="甘A54321", people=[
        service.PersonInput(name="张三", id_number="11010519491231002X", temperature_c=36.5, role="driver")])
    start, results, failures = threading.Barrier(4), [], []

    def retry() -> None:
        start.wait()
        try:
            results.append(_register(db, officer, cp, data))
        except Exception as exc:  # a lost race must not surface as an error
            failures.append(exc)

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert len({pid for pid, _created in results}) == 1
    assert sorted(created for _pid, created in results) == [False, False, False, True]
    with db.sessions() as s:
        assert s.query(Passage).filter(Passage.client_id == "race-1").count() == 1
        assert s.query(PassagePerson).filter(PassagePerson.passage_id == results[0][0]).count() == 1
        assert s.query(Person).filter(Person.id_number == "11010519491231002X").count() == 1
        assert verify_chain(s).ok


def _snapshot(db, passage_id: int) -> dict:  # type: ignore[no-untyped-def]
    """What a passage wrote: its row, its people, referrals and their audit entries, without ids and times."""
    with db.sessions() as s:
        p = s.get(Passage, passage_id)
        people = s.execute(select(PassagePerson).where(PassagePerson.passage_id == passage_id)
                           .order_by(PassagePerson.id)).scalars().all()
        referrals = s.execute(select(Referral).where(Referral.passage_person_id.in_([x.id for x in people]))).scalars()
        audited = s.execute(select(AuditEntry).where(
            ((AuditEntry.object_type == "passages") & (AuditEntry.object_id == str(passage_id)))
            | ((AuditEntry.object_type == "passage_people") & AuditEntry.object_id.in_([str(x.id) for x in people]))
            | (AuditEntry.object_type == "referrals")).order_by(AuditEntry.id)).scalars().all()
        skip = {"id", "passage_id", "client_id", "at", "passage_person_id"}

        def fields(entry: AuditEntry) -> dict:
            return {k: v for k, v in json.loads(entry.detail)["fields"].items() if k not in skip}

        return {
            "passage": {c: getattr(p, c) for c in ("checkpoint_id", "plate", "plate_region", "origin", "destination",
                                                   "reason", "flags", "recorded_by", "lane")},
            "people": [(x.role, x.name, x.id_number, x.doc_type, x.doc_number, x.temperature_c, x.disposition,
                        x.flags, x.person_id) for x in people],
            "referrals": [(r.person_id, r.reason, r.checkpoint_id) for r in referrals
                          if r.passage_person_id in {x.id for x in people}],
            "audit": sorted((e.action, e.object_type, e.username, json.dumps(fields(e), sort_keys=True))
                             for e in audited if e.object_type != "referrals"
                             or json.loads(e.detail)["fields"]["passage_person_id"] in {x.id for x in people}),
        }


def test_the_lean_path_writes_what_the_orm_path_wrote(personas, db) -> None:
    personas.browser("command").post("/api/v1/leads/batches", headers=personas.headers("command"), json={
        "source": "省指挥部", "leads": [{"name": "被查人", "id_number": WUHAN_ID, "current_address": "不详"}]})
    cp, officer = _checkpoint(db), _officer(db)

    def data(client_id: str) -> service.PassageInput:
        return service.PassageInput(client_id=client_id, plate="鄂A12345", origin="武汉", destination="兰州",
                                    reason="返兰", lane=2, people=[
            service.PersonInput(name="被查人", id_number=WUHAN_ID, temperature_c=37.8, disposition="referred",
                                role="driver"),
            service.PersonInput(name="乘客", id_number="11010519491231002X", temperature_c=36.4,
                                override_reason="核酸阴性，放行"),
            service.PersonInput(name="JOHN SMITH", doc_type="passport", doc_number="E12345678", temperature_c=36.7,
                                disposition="turned_back")])

    orm_id, _ = _register(db, officer, cp, data("same-orm"), register_passage_orm)
    lean_id, _ = _register(db, officer, cp, data("same-lean"))
    orm, lean = _snapshot(db, orm_id), _snapshot(db, lean_id)
    assert lean == orm
    assert "watch" in lean["people"][0][7] and "fever" in lean["people"][0][7]
    assert len(lean["referrals"]) == 1
    assert [a[1] for a in lean["audit"]].count("passage_people") == 3


def test_person_files_opened_at_a_checkpoint_are_audited(personas, db) -> None:
    created = _post(personas, _checkpoint(db), _chengdu_car("new-file-1")).json()
    person_id = created["people"][0]["person_id"]
    with db.sessions() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.object_type == "persons",
                                                   AuditEntry.object_id == str(person_id))).scalar_one()
        detail = json.loads(entry.detail)["fields"]
        assert entry.action == "create" and entry.username == "checkpoint"
        assert detail["id_number"] == "***" and detail["name"] == "***" and detail["unconfirmed"] is True
        assert verify_chain(s).ok


def test_a_deactivated_officers_token_is_refused_at_once(personas, db, settings) -> None:
    cp = _checkpoint(db)
    assert _post(personas, cp, _chengdu_car("tok-1")).status_code == 201  # the token is now cached
    with db.sessions() as s, s.begin():
        admin = s.execute(select(User).where(User.username == "admin")).unique().scalar_one()
        officer = s.execute(select(User).where(User.username == "checkpoint")).unique().scalar_one()
        update_user(s, settings, admin, officer.id, UserInput(
            username=officer.username, display_name=officer.display_name, role=officer.role,
            unit_id=officer.unit_id, active=False))
    assert _post(personas, cp, _chengdu_car("tok-2")).status_code == 401


def test_a_revoked_token_is_refused_once_the_cache_rechecks(personas, db, monkeypatch: pytest.MonkeyPatch) -> None:
    cp = _checkpoint(db)
    assert _post(personas, cp, _chengdu_car("rev-1")).status_code == 201
    with db.sessions() as s, s.begin():
        s.execute(update(ApiToken).values(revoked_at=utcnow() - timedelta(seconds=1)))
    monkeypatch.setattr(auth, "TOKEN_RECHECK_SECONDS", 0.0)
    assert _post(personas, cp, _chengdu_car("rev-2")).status_code == 401
