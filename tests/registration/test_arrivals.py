"""Arrival self-registration over HTTP: the public form on a phone, the receipt and its lookup, a risk-area
arrival becoming a lead in the right station's queue with its risk status, staff views, bad input."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from fangkong.core.audit import AuditEntry
from fangkong.core.codes import check_character
from fangkong.core.models import Unit
from fangkong.leads.models import Lead
from fangkong.people.models import Person, RiskStatus
from fangkong.registration.arrivals.models import Arrival
from tests.support import csrf

JIUQUAN = "兰州市城关区酒泉路街道庆阳路12号3单元"  # the `station` persona's street
XIYUAN = "兰州市七里河区西园街道西津西路8号"  # `station2`'s street, another district
WUHAN_ID = "42010619800101001" + check_character("42010619800101001")  # issued in Wuchang (risk area in the demo)
BEIJING_ID = "11010519491231002X"


def _form(**over: object) -> dict[str, object]:
    today = date.today()
    body: dict[str, object] = {
        "name": "李来兰", "doc_type": "resident_id", "doc_number": BEIJING_ID, "phone": "+86 139 1234 5678",
        "origin_code": "110105", "origin_text": "", "route": "", "departed_on": (today - timedelta(days=1)).isoformat(),
        "arrived_on": today.isoformat(), "transport": "train", "transport_number": "g1234", "plate": "",
        "destination_address": JIUQUAN, "temperature_c": "36.5", "test_result": "negative",
        "test_on": (today - timedelta(days=1)).isoformat(), "consent": "yes",
    }
    body.update(over)
    return body


def _send(client, **over: object):  # type: ignore[no-untyped-def]
    body = _form(**over)
    return client.post("/register/arrival", data={**body, "csrf_token": csrf(client)}, follow_redirects=False)


def _reference(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text[:500]
    return re.search(r"ref=([A-Z0-9]+)", response.headers["location"]).group(1)  # type: ignore[union-attr]


def test_a_person_registers_on_a_phone_without_an_account_and_gets_a_receipt(client, db) -> None:
    form = client.get("/register/arrival")
    assert form.status_code == 200 and "个人信息" in form.text and "28" in form.text  # the notice and retention
    r = _send(client)
    code = _reference(r)
    receipt = client.get(r.headers["location"])
    assert receipt.status_code == 200 and f"{code[:5]}-{code[5:]}" in receipt.text
    assert "李来兰" not in receipt.text  # the receipt URL carries and shows no personal data
    with db.sessions() as s:
        arrival = s.execute(select(Arrival).where(Arrival.reference == code)).scalar_one()
        person = s.get(Person, arrival.person_id)
        assert (arrival.phone, arrival.transport_number, arrival.risk_level) == ("13912345678", "G1234", None)
        assert person.id_number == BEIJING_ID and person.unit.name == "酒泉路派出所"
        assert arrival.lead_id is None and arrival.status_set is None


def test_the_registration_is_found_again_by_code_and_phone_only(client) -> None:
    code = _reference(_send(client))
    token = csrf(client)
    found = client.post("/register/arrival/lookup", data={"reference": f"{code[:5]}-{code[5:]}".lower(),
                                                          "phone": "13912345678", "csrf_token": token})
    assert found.status_code == 200 and "李来兰" in found.text and "139****5678" in found.text
    wrong = client.post("/register/arrival/lookup", data={"reference": code, "phone": "13912345679",
                                                          "csrf_token": token})
    assert wrong.status_code == 422 and "李来兰" not in wrong.text and "没有与此登记号和手机号" in wrong.text


def test_arrival_from_a_risk_area_becomes_a_lead_in_the_station_queue_with_arrival_status(client, personas,
                                                                                         db) -> None:
    code = _reference(_send(client, name="王武汉", doc_number=WUHAN_ID, phone="13700001111", origin_code="420100"))
    with db.sessions() as s:
        arrival = s.execute(select(Arrival).where(Arrival.reference == code)).scalar_one()
        assert (arrival.risk_level, arrival.risk_reason, arrival.status_set) == ("high", "origin", "arrival_high")
        lead = s.get(Lead, arrival.lead_id)
        assert s.get(Unit, lead.unit_id).name == "酒泉路派出所" and lead.status == "dispatched"
        assert lead.person_id == arrival.person_id and lead.kind == "重点地区来返人员" and lead.priority == "urgent"
        status = s.execute(select(RiskStatus).where(RiskStatus.person_id == arrival.person_id)).scalar_one()
        assert status.status == "arrival_high" and status.ended_at is None
    queue = personas.browser("station").get("/api/v1/leads", headers=personas.headers("station")).json()
    assert [q["id"] for q in queue] == [arrival.lead_id]
    other = personas.browser("station2").get("/api/v1/leads", headers=personas.headers("station2")).json()
    assert other == []


def test_a_route_through_a_risk_area_counts_too(client, db) -> None:
    code = _reference(_send(client, phone="13700002222", route="西安、武汉市武昌区、郑州"))
    with db.sessions() as s:
        arrival = s.execute(select(Arrival).where(Arrival.reference == code)).scalar_one()
        assert (arrival.risk_level, arrival.risk_reason) == ("high", "route") and arrival.lead_id is not None


def test_station_sees_arrivals_to_its_jurisdiction_masked_and_the_read_is_audited(client, personas, db) -> None:
    _reference(_send(client))
    _reference(_send(client, name="赵西园", doc_number=WUHAN_ID, phone="13600003333", destination_address=XIYUAN,
                     origin_code="420100"))
    station = personas.browser("station")
    page = station.get("/arrivals")
    assert page.status_code == 200 and "李来兰" in page.text and "赵西园" not in page.text
    assert BEIJING_ID not in page.text and "139****5678" in page.text
    with db.sessions() as s:
        mine = s.execute(select(Arrival.id).where(Arrival.name == "李来兰")).scalar_one()
        theirs = s.execute(select(Arrival.id).where(Arrival.name == "赵西园")).scalar_one()
    detail = station.get(f"/arrivals/{mine}")
    assert detail.status_code == 200 and BEIJING_ID not in detail.text and "**************002X" in detail.text
    assert station.get(f"/arrivals/{theirs}").status_code == 404
    assert personas.browser("station2").get(f"/arrivals/{theirs}").status_code == 200
    assert personas.browser("command").get(f"/arrivals/{theirs}").status_code == 200
    assert personas.browser("health").get("/arrivals").status_code == 403
    with db.sessions() as s:
        reads = s.execute(select(AuditEntry).where(AuditEntry.object_type == "arrivals",
                                                   AuditEntry.action == "read")).scalars().all()
        assert {(e.username, e.object_id) for e in reads} >= {("station", str(mine)), ("station2", str(theirs))}


def test_filters_by_day_origin_and_risk(client, personas) -> None:
    _reference(_send(client))
    _reference(_send(client, name="王武汉", doc_number=WUHAN_ID, phone="13700001111", origin_code="420100"))
    station = personas.browser("station")
    risky = station.get("/arrivals?risk=risk").text
    assert "王武汉" in risky and "李来兰" not in risky
    beijing = station.get("/arrivals?origin=11").text
    assert "李来兰" in beijing and "王武汉" not in beijing
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert "李来兰" not in station.get(f"/arrivals?day={tomorrow}").text
    assert "李来兰" in station.get(f"/arrivals?day={date.today().isoformat()}").text
    api = station.get("/api/v1/arrivals?risk=high", headers=personas.headers("station")).json()
    assert [a["name"] for a in api["arrivals"]] == ["王武汉"] and api["arrivals"][0]["phone"] == "137****1111"


def test_units_count_arrivals_by_origin_and_day(client, personas) -> None:
    _reference(_send(client))
    _reference(_send(client, name="另一人", doc_number="E12345678", doc_type="passport", phone="13500004444"))
    _reference(_send(client, name="王武汉", doc_number=WUHAN_ID, phone="13700001111", origin_code="420100"))
    page = personas.browser("district").get("/arrivals/counts")  # 城关: the demo's arrivals lie elsewhere
    assert page.status_code == 200
    text = page.text
    assert re.search(r"北京市</a></th>.*?<b>2</b>", text, re.S) and re.search(r"湖北省</a></th>.*?<b>1</b>", text, re.S)


def test_bad_input_names_each_field_in_chinese_and_saves_nothing(client, db) -> None:
    r = _send(client, doc_number="110105194912310021", phone="12345", arrived_on=(date.today() - timedelta(days=3))
              .isoformat(), departed_on=date.today().isoformat(), name="<script>alert(1)</script>",
              transport="car", plate="", consent="")
    assert r.status_code == 422
    text = r.text
    for fragment in ("身份证号码校验位错误，应为 X", "手机号码应为以1开头的11位数字", "抵达日期不能早于出发日期",
                     "请填写纯文本", "请确认您已阅读"):
        assert fragment in text, fragment
    assert text.count('aria-invalid="true"') >= 5
    with db.sessions() as s:
        assert s.execute(select(func.count(Arrival.id)).where(Arrival.name.contains("script"))).scalar_one() == 0
        assert s.execute(select(func.count(Person.id)).where(Person.name.contains("script"))).scalar_one() == 0


def test_english_is_available_on_the_public_form(client) -> None:
    r = client.post("/register/arrival?lang=en", data={**_form(phone="555"), "csrf_token": csrf(client)})
    assert r.status_code == 422 and "A mobile number has 11 digits" in r.text


def test_an_address_outside_the_city_is_refused_and_nothing_is_saved(client, db) -> None:
    r = _send(client, destination_address="北京市朝阳区建国路1号")
    assert r.status_code == 422 and "不在本市" in r.text
    with db.sessions() as s:
        assert s.execute(select(func.count(Arrival.id)).where(Arrival.name == "李来兰")).scalar_one() == 0
        assert s.execute(select(func.count(Person.id)).where(Person.phone == "13912345678")).scalar_one() == 0


def test_oversized_and_bot_filled_forms_are_refused(client, db) -> None:
    big = _send(client, route="武" * 20000)
    assert big.status_code == 413
    bot = _send(client, website="http://spam.example")
    assert bot.status_code == 400
    with db.sessions() as s:
        assert s.execute(select(func.count(Arrival.id)).where(Arrival.name == "李来兰")).scalar_one() == 0


def test_public_forms_are_rate_limited_per_ip(settings, db) -> None:
    from fastapi.testclient import TestClient

    from fangkong.app import create_app

    app = create_app(settings.model_copy(update={"registration_rate_limit": 3}), db)
    with TestClient(app) as c:
        codes = [_send(c, phone="1390000000" + str(i)).status_code for i in range(4)]
        assert codes == [303, 303, 303, 429]
        again = _send(c, phone="13900000009")
        assert again.status_code == 429 and "请等待" in again.text and again.headers["retry-after"]


def test_an_app_registers_through_the_public_api_and_errors_are_problem_json(client, db) -> None:
    body = {**_form(), "consent": True, "symptoms": ["cough"]}
    body.pop("csrf_token", None)
    r = client.post("/api/v1/public/arrivals", json=body)
    assert r.status_code == 201, r.text
    code = r.json()["reference"].replace("-", "")
    with db.sessions() as s:
        assert s.execute(select(Arrival.symptoms).where(Arrival.reference == code)).scalar_one() == "cough"
    bad = client.post("/api/v1/public/arrivals", json={**body, "phone": "021-1234567", "arrived_on": "2020-13-01"},
                      headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in bad.json()["errors"]} >= {"phone", "arrived_on"}


def test_every_public_form_carries_the_csrf_token_a_browser_sends_back(client, db) -> None:
    from fangkong.registration.gatherings.models import Gathering

    with db.sessions() as s:
        g = s.execute(select(Gathering).limit(1)).scalar_one()  # the demo city's
    pages = ["/register/arrival", "/register/arrival/lookup", "/register/gathering", "/register/gathering/lookup",
             f"/register/gathering/manage/{g.manage_token}", f"/g/{g.sign_in_token}"]
    for path in pages:
        page = client.get(path)
        sent = re.findall(r'name="csrf_token" value="([^"]*)"', page.text)
        assert sent and set(sent) == {client.cookies["fk_csrf"]}, path
