"""Posts and rosters over HTTP: a roster makes the day's deployment figures (corrected ones win, with their
history kept), a post below strength raises an alert, bad shifts are refused naming the field, secondment
keeps the home unit, and the jurisdiction holds (outsider 404, wrong role 403)."""

from __future__ import annotations

from sqlalchemy import select

from fangkong.capabilities import platform
from fangkong.core.capability import DayWindow
from fangkong.deployments.models import LogCorrection, ShiftMember
from tests.deployments.helpers import add_post, add_shift, local, user
from tests.support import Personas, csrf


def _figures(db, day, unit_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return {key: value for unit, key, value in platform().figures(s, DayWindow(day))
                if unit == unit_id and key.startswith("deployments.")}


def test_a_roster_produces_the_days_deployment_figures(client, db, personas: Personas) -> None:
    station, officer = user(db, "station"), user(db, "checkpoint")
    headers = personas.headers("station")
    post = add_post(client, headers, station.unit_id)
    starts = local(3, 8)  # a day of its own: the demo's rosters end today
    members = [{"kind": "police", "user_id": station.id}, {"kind": "auxiliary", "user_id": officer.id},
               {"kind": "auxiliary", "name": "辅警王五"}, {"kind": "vehicle", "name": "甘A1234警"},
               {"kind": "drone", "name": "UAV-7", "hours": 1.5}, {"kind": "volunteer", "name": "志愿者甲"}]
    r = add_shift(client, headers, post["id"], starts, local(3, 16), members, "早班")
    assert r.status_code == 201, r.text
    assert r.json()["officers"] == 3 and not r.json()["below_strength"]
    assert add_shift(client, headers, post["id"], local(3, 16), local(3, 24),
                     [{"kind": "police", "user_id": station.id}]).status_code == 201
    day = starts.date()
    assert _figures(db, day, station.unit_id) == {
        "deployments.officer_shifts": 4, "deployments.vehicle_trips": 1, "deployments.drone_sorties": 1,
        "deployments.drone_hours": 2, "deployments.posts_manned": 1}

    log = client.get(f"/api/v1/deployments/log?day={day}", headers=headers).json()
    own = next(row for row in log if row["unit_id"] == station.unit_id)
    assert own["own"]["officer_shifts"] == 4 and own["own"]["drone_hours"] == 1.5
    district = user(db, "district")
    rolled = next(row for row in client.get(f"/api/v1/deployments/log?day={day}",
                                            headers=personas.headers("district")).json()
                  if row["unit_id"] == district.unit_id)
    assert rolled["total"]["officer_shifts"] >= 4  # rolled up over the district's stations

    r = client.post("/api/v1/deployments/log", headers=headers, json={
        "unit_id": station.unit_id, "day": day.isoformat(), "values": {"patrols": 6, "officer_shifts": 5},
        "reason": "含机动巡逻警力"})
    assert r.status_code == 200 and sorted(r.json()) == ["officer_shifts", "patrols"]
    browser = personas.browser("station")
    r = browser.post("/deployments/log", data={"csrf_token": csrf(browser), "day": day.isoformat(),
                                               "unit_id": station.unit_id, "officer_shifts": "7", "reason": "补录"},
                     follow_redirects=False)
    assert r.status_code == 303
    figures = _figures(db, day, station.unit_id)
    assert figures["deployments.officer_shifts"] == 7 and figures["deployments.patrols"] == 6
    with db.sessions() as s:
        history = s.execute(select(LogCorrection.value, LogCorrection.previous).where(
            LogCorrection.unit_id == station.unit_id, LogCorrection.day == day,
            LogCorrection.field == "officer_shifts").order_by(LogCorrection.id)).all()
    assert [tuple(h) for h in history] == [(5.0, 4.0), (7.0, 5.0)]  # the history is kept
    page = browser.get(f"/deployments/log?day={day}&unit_id={station.unit_id}")
    assert page.status_code == 200 and "含机动巡逻警力" in page.text and "补录" in page.text


def test_a_post_below_strength_raises_an_alert(client, db, personas: Personas) -> None:
    station = user(db, "station")
    headers = personas.headers("station")
    post = add_post(client, headers, station.unit_id, name="发热门诊岗", strength=3, kind="hospital")
    shift = add_shift(client, headers, post["id"], local(0, 0), local(1, 0),
                      [{"kind": "police", "name": "民警甲"}, {"kind": "volunteer", "name": "志愿者乙"}]).json()
    alerts = client.get("/api/v1/deployments/alerts", headers=headers).json()
    mine = next(a for a in alerts if a["id"] == post["id"])
    assert mine["on_duty"] == 1 and mine["below_strength"] and mine["shift_id"] == shift["id"]
    browser = personas.browser("station")
    assert "发热门诊岗" in browser.get("/deployments/alerts").text
    assert "警力不足" in browser.get(f"/deployments/posts/{post['id']}").text
    home = browser.get("/")
    assert "当前警力不足的岗位" in home.text and 'class="tile alert" href="/deployments/alerts"' in home.text

    for name in ("辅警丙", "辅警丁"):
        r = client.post(f"/api/v1/deployments/shifts/{shift['id']}/members", headers=headers,
                        json={"kind": "auxiliary", "name": name})
        assert r.status_code == 201, r.text
    alerts = client.get("/api/v1/deployments/alerts", headers=headers).json()
    assert post["id"] not in [a["id"] for a in alerts]
    assert client.get(f"/api/v1/deployments/posts/{post['id']}", headers=headers).json()["on_duty"] == 3


def _problem(response, status: int = 422) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


def test_bad_shifts_get_clear_errors_naming_the_field(client, db, personas: Personas) -> None:
    station = user(db, "station")
    headers = personas.headers("station")
    first = add_post(client, headers, station.unit_id, name="一号卡点")
    second = add_post(client, headers, station.unit_id, name="二号卡点")
    errors = _problem(add_shift(client, headers, first["id"], local(4, 16), local(4, 8), []))
    assert errors == {"ends_at": "班次结束时间早于开始时间。"}
    assert add_shift(client, headers, first["id"], local(4, 8), local(4, 16),
                     [{"kind": "police", "user_id": station.id}, {"kind": "vehicle", "name": "甘A0001警"}],
                     "早班").status_code == 201
    errors = _problem(add_shift(client, headers, first["id"], local(4, 12), local(4, 20), []))
    assert list(errors) == ["starts_at"] and "早班" in errors["starts_at"]  # the post's own shifts overlap
    errors = _problem(add_shift(client, headers, second["id"], local(4, 14), local(4, 22),
                                [{"kind": "police", "user_id": station.id}]))
    assert list(errors) == ["members.0.user_id"] and "一号卡点" in errors["members.0.user_id"]
    errors = _problem(add_shift(client, headers, second["id"], local(4, 14), local(4, 22),
                                [{"kind": "vehicle", "name": "甘A0001警"}]))
    assert list(errors) == ["members.0.name"]
    with db.sessions() as s:  # nothing of the refused shifts was kept
        assert s.execute(select(ShiftMember).where(ShiftMember.name == "甘A0001警")).scalars().all().__len__() == 1
    errors = _problem(add_shift(client, headers, second["id"], local(4, 8), local(5, 10), []))
    assert list(errors) == ["ends_at"]  # longer than 24 hours

    browser = personas.browser("station")  # the page names the field too
    r = browser.post(f"/deployments/posts/{second['id']}/shifts", data={
        "csrf_token": csrf(browser), "day": local(4, 0).date().isoformat(),
        "starts_at": local(4, 20).strftime("%Y-%m-%dT%H:%M"), "ends_at": local(4, 9).strftime("%Y-%m-%dT%H:%M")})
    assert r.status_code == 422 and 'id="err-ends_at"' in r.text and "班次结束时间早于开始时间" in r.text


def test_an_officer_sent_down_keeps_the_home_unit(client, db, personas: Personas) -> None:
    station, outsider = user(db, "station"), user(db, "station2")
    headers = personas.headers("station")
    post = add_post(client, headers, station.unit_id, name="下沉卡点")
    shift = add_shift(client, headers, post["id"], local(5, 8), local(5, 16), []).json()
    body = {"kind": "police", "user_id": outsider.id}
    errors = _problem(client.post(f"/api/v1/deployments/shifts/{shift['id']}/members", headers=headers, json=body))
    assert list(errors) == ["user_id"]  # not ours, not seconded to us
    r = client.post("/api/v1/deployments/secondments", headers=personas.headers("command"), json={
        "user_id": outsider.id, "unit_id": station.unit_id, "starts_on": local(0, 0).date().isoformat(),
        "ends_on": local(10, 0).date().isoformat(), "note": "下沉社区"})
    assert r.status_code == 201 and r.json()["home_unit_id"] == outsider.unit_id
    r = client.post(f"/api/v1/deployments/shifts/{shift['id']}/members", headers=headers, json=body)
    assert r.status_code == 201 and r.json()["home_unit_id"] == outsider.unit_id
    assert "下沉社区" in personas.browser("station").get("/deployments/secondments").text


def test_outsider_gets_404_and_wrong_role_403(client, db, personas: Personas) -> None:
    station = user(db, "station")
    post = add_post(client, personas.headers("station"), station.unit_id)
    path = f"/api/v1/deployments/posts/{post['id']}"
    assert client.get(path, headers=personas.headers("station2")).status_code == 404
    assert client.get(path, headers=personas.headers("health")).status_code == 403
    assert add_shift(client, personas.headers("station2"), post["id"], local(6, 8), local(6, 9), []).status_code == 404
    assert personas.browser("station2").get(f"/deployments/posts/{post['id']}").status_code == 404
    assert personas.browser("health").get("/deployments").status_code == 403
    assert client.post("/api/v1/deployments/posts", headers=personas.headers("station"), json={
        "name": "越界", "kind": "checkpoint", "unit_id": user(db, "station2").unit_id}).status_code == 422
