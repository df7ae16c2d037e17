"""Gatherings over HTTP: an organiser registers an event and its attendees, attendees sign in by the shared
link, the station of the address sees the list (audited), and tracing gets the attendees' presence."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from fangkong.core.audit import AuditEntry
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.presence import PresenceRecord
from fangkong.people.models import Person
from fangkong.registration.gatherings.models import Gathering, GatheringAttendee
from fangkong.registration.gatherings.service import DEFAULT_STAY, gathering_presence
from tests.support import csrf

JIUQUAN = "兰州市城关区张掖路街道中山路9号"  # the `station` persona's jurisdiction
BEIJING_ID = "11010519491231002X"


def _event(**over: object) -> dict[str, object]:
    day = date.today() + timedelta(days=2)
    body: dict[str, object] = {
        "kind": "wedding", "title": "张李婚宴", "date": day.isoformat(), "start_time": "11:30", "end_time": "14:00",
        "address": JIUQUAN, "expected_size": "120", "organiser_name": "张父", "organiser_phone": "13811112222",
        "attendees.0.name": "张三", "attendees.0.doc_type": "resident_id", "attendees.0.doc_number": BEIJING_ID,
        "attendees.0.phone": "13811113333",
        "attendees.1.name": "Anna Schmidt", "attendees.1.doc_type": "passport", "attendees.1.doc_number": "c01x00t47",
        "attendees.1.phone": "13811114444",
    }
    body.update(over)
    return body


def _register(client, **over: object):  # type: ignore[no-untyped-def]
    return client.post("/register/gathering", data={**_event(**over), "csrf_token": csrf(client)},
                       follow_redirects=False)


def _token(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text[:800]
    return re.search(r"/manage/([A-Za-z0-9_-]+)", response.headers["location"]).group(1)  # type: ignore[union-attr]


def test_organiser_registers_a_wedding_with_attendees_who_get_person_files(client, db) -> None:
    token = _token(_register(client))
    page = client.get(f"/register/gathering/manage/{token}?new=1")
    assert page.status_code == 200 and "张李婚宴" in page.text and "2 名参加人员" in page.text
    assert page.headers["cache-control"] == "no-store"
    with db.sessions() as s:
        g = s.execute(select(Gathering).where(Gathering.title == "张李婚宴")).scalar_one()
        assert g.unit.name == "酒泉路派出所" and g.expected_size == 120
        assert g.starts_at == datetime.combine(date.today() + timedelta(days=2), datetime.min.time().replace(
            hour=11, minute=30), LOCAL_TZ)
        rows = s.execute(select(GatheringAttendee).where(GatheringAttendee.gathering_id == g.id)
                         .order_by(GatheringAttendee.id)).scalars().all()
        assert [r.added_by for r in rows] == ["organiser", "organiser"]
        assert s.get(Person, rows[0].person_id).id_number == BEIJING_ID
        passport = s.get(Person, rows[1].person_id)
        assert (passport.doc_type, passport.doc_number, passport.unconfirmed) == ("passport", "C01X00T47", True)


def test_attendees_sign_themselves_in_by_the_shared_link_once(client, personas, db) -> None:
    token = _token(_register(client, **{"attendees.0.name": "", "attendees.0.doc_number": "", "attendees.0.phone": "",
                                        "attendees.1.name": "", "attendees.1.doc_number": "",
                                        "attendees.1.phone": ""}))
    page = client.get(f"/register/gathering/manage/{token}")
    link = re.search(r"/g/([A-Za-z0-9_-]+)", page.text).group(1)  # type: ignore[union-attr]
    phone = personas.browser("station")  # any other device: a fresh client with its own cookies
    phone.cookies.clear()
    form = phone.get(f"/g/{link}")
    assert form.status_code == 200 and "张李婚宴" in form.text
    body = {"name": "王五", "doc_type": "resident_id", "doc_number": BEIJING_ID, "phone": "13900001111",
            "csrf_token": csrf(phone)}
    done = phone.post(f"/g/{link}", data=body)
    assert done.status_code == 200 and "签到成功" in done.text and "王五" in done.text
    again = phone.post(f"/g/{link}", data=body)
    assert again.status_code == 422 and "此人已在本活动名单中" in again.text
    with db.sessions() as s:
        g = s.execute(select(Gathering).where(Gathering.title == "张李婚宴")).scalar_one()
        assert [a.added_by for a in g.attendees] == ["self"]


def test_closing_sign_in_revokes_the_shared_link(client) -> None:
    token = _token(_register(client))
    link = re.search(r"/g/([A-Za-z0-9_-]+)", client.get(f"/register/gathering/manage/{token}").text).group(1)  # type: ignore[union-attr]
    closed = client.post(f"/register/gathering/manage/{token}/sign-in", data={"open": "no", "csrf_token": csrf(client)})
    assert closed.status_code == 200 and "签到已关闭" in closed.text
    assert client.get(f"/g/{link}").status_code == 404


def test_organiser_finds_the_event_again_by_code_and_phone(client) -> None:
    token = _token(_register(client))
    code = re.search(r'class="reference mono">([A-Z0-9-]+)<', client.get(f"/register/gathering/manage/{token}").text
                     ).group(1)  # type: ignore[union-attr]
    found = client.post("/register/gathering/lookup", data={"reference": code, "phone": "138 1111 2222",
                                                            "csrf_token": csrf(client)}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"].endswith(token)
    wrong = client.post("/register/gathering/lookup", data={"reference": code, "phone": "13811119999",
                                                            "csrf_token": csrf(client)})
    assert wrong.status_code == 422 and token not in wrong.text


def test_organiser_adds_attendees_later_and_a_bad_row_saves_none(client, db) -> None:
    token = _token(_register(client))
    bad = client.post(f"/register/gathering/manage/{token}/attendees", data={
        "attendees.0.name": "赵六", "attendees.0.doc_number": "110105194912310021", "attendees.0.phone": "13900002222",
        "attendees.1.name": "钱七", "attendees.1.doc_number": BEIJING_ID[:-1] + "X", "attendees.1.phone": "1390000",
        "csrf_token": csrf(client)})
    assert bad.status_code == 422 and "校验位错误" in bad.text and "手机号码应为" in bad.text
    good = client.post(f"/register/gathering/manage/{token}/attendees", data={
        "attendees.0.name": "孙八", "attendees.0.doc_type": "other", "attendees.0.doc_number": "军字第123456号",
        "attendees.0.phone": "13900003333", "csrf_token": csrf(client)}, follow_redirects=False)
    assert good.status_code == 303 and "added=1" in good.headers["location"]
    with db.sessions() as s:
        g = s.execute(select(Gathering).where(Gathering.title == "张李婚宴")).scalar_one()
        names = sorted(a.name for a in g.attendees)
        assert names == ["Anna Schmidt", "孙八", "张三"]


def test_bad_event_input_is_named_field_by_field_and_nothing_is_saved(client, db) -> None:
    r = _register(client, end_time="10:00", expected_size="lots", organiser_phone="010-12345678",
                  title="<img src=x onerror=alert(1)>", **{"attendees.1.phone": "123"})
    assert r.status_code == 422
    for fragment in ("结束时间须晚于开始时间", "请填写 1 到 100000 之间的数字", "手机号码应为", "请填写纯文本"):
        assert fragment in r.text, fragment
    assert "<img src=x" not in r.text
    with db.sessions() as s:
        assert s.execute(select(Gathering.id).where(Gathering.organiser_phone == "13811112222")).first() is None
        assert s.execute(select(Person.id).where(Person.phone == "13811113333")).first() is None


def test_station_sees_gatherings_of_its_jurisdiction_with_attendees_audited(client, personas, db) -> None:
    _token(_register(client))
    _token(_register(client, title="西园集市", kind="market", address="兰州市七里河区西园街道集市广场",
                     organiser_phone="13822223333"))
    with db.sessions() as s:
        mine = s.execute(select(Gathering.id).where(Gathering.title == "张李婚宴")).scalar_one()
        theirs = s.execute(select(Gathering.id).where(Gathering.title == "西园集市")).scalar_one()
    station = personas.browser("station")
    listing = station.get("/gatherings")
    assert "张李婚宴" in listing.text and "西园集市" not in listing.text
    detail = station.get(f"/gatherings/{mine}")
    assert detail.status_code == 200 and "张三" in detail.text and BEIJING_ID not in detail.text
    assert "138****3333" in detail.text
    assert station.get(f"/gatherings/{theirs}").status_code == 404
    assert personas.browser("command").get(f"/gatherings/{theirs}").status_code == 200
    assert personas.browser("checkpoint").get("/gatherings").status_code == 403
    api = station.get(f"/api/v1/gatherings/{mine}", headers=personas.headers("station")).json()
    assert [a["name"] for a in api["attendees"]] == ["张三", "Anna Schmidt"]
    with db.sessions() as s:
        reads = s.execute(select(AuditEntry.username).where(AuditEntry.object_type == "gatherings",
                                                            AuditEntry.action == "read",
                                                            AuditEntry.object_id == str(mine))).scalars().all()
        assert reads.count("station") == 2


def test_gathering_presence_gives_each_attendee_a_stay_for_tracing(client, db) -> None:
    _token(_register(client))
    _token(_register(client, title="无结束时间", end_time="", organiser_phone="13822224444"))
    day = date.today() + timedelta(days=2)
    start = datetime.combine(day, datetime.min.time(), LOCAL_TZ).astimezone(UTC)
    with db.sessions() as s:
        gatherings = {g.title: g for g in s.execute(select(Gathering).where(Gathering.organiser_phone.in_(
            ("13811112222", "13822224444")))).scalars()}
        places = {f"gathering:{g.id}" for g in gatherings.values()}
        records = [r for r in gathering_presence(s, start, start + timedelta(days=1)) if r.place in places]
        later = gathering_presence(s, start + timedelta(days=1), start + timedelta(days=2))
        assert not [r for r in later if r.place in places]
    assert all(isinstance(r, PresenceRecord) for r in records) and len(records) == 4
    wedding = gatherings["张李婚宴"]
    wedding_stays = [r for r in records if r.place == f"gathering:{wedding.id}"]
    assert {(r.place_kind, r.source, r.t_in, r.t_out) for r in wedding_stays} == {
        ("venue", "gathering", wedding.starts_at, wedding.ends_at)}
    open_ended = [r for r in records if r.place == f"gathering:{gatherings['无结束时间'].id}"]
    assert {r.t_out - r.t_in for r in open_ended} == {DEFAULT_STAY}
    assert len({r.person for r in records}) == 2  # the same two people at both: one file each
