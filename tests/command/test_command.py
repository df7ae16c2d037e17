"""Command (issue 16): the figures roll-up against rows the test creates, daily reports with zero reports
and missing units, the Excel situation report cell by cell, response levels, the dashboard and the screen."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fangkong.command import rollup
from fangkong.command.models import DailyReport
from fangkong.command.web import today
from fangkong.core.context import SYSTEM, acting_as
from fangkong.core.models import Unit, User
from fangkong.core.notify import Notification
from fangkong.core.scheduler import run_jobs
from fangkong.people.models import Person
from tests.support import Personas, csrf


def _figures(app, db, path: str = "/") -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Roll today up and return the city's figures for today."""
    with db.unit_of_work() as s:
        rollup.rebuild_day(s, app.state.platform, today())
    with db.sessions() as s:
        return rollup.totals(s, app.state.platform.figure_kinds, path, today(), None)[0]


def _checkpoint(db):  # type: ignore[no-untyped-def]
    from fangkong.checkpoints.models import Checkpoint, CheckpointPost

    with db.sessions() as s:
        officer = s.execute(select(User.id).where(User.username == "checkpoint")).scalar_one()
        return s.execute(select(Checkpoint.id).join(CheckpointPost, CheckpointPost.checkpoint_id == Checkpoint.id)
                         .where(CheckpointPost.user_id == officer).limit(1)).scalar_one()


def test_checkpoint_figures_count_the_passages_made(app, client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    before = _figures(app, db)
    cp = _checkpoint(db)
    from fangkong.core.codes import check_character

    ids = [p + check_character(p) for p in ("62010219800101101", "62010219800101102", "62010219800101103")]
    people = [(ids[0], 38.4, "referred"), (ids[1], 36.5, "turned_back"), (ids[2], 36.6, "passed")]
    for n, (idn, temp, disp) in enumerate(people):
        r = client.post(f"/api/v1/checkpoints/{cp}/passages", headers=personas.headers("checkpoint"),
                        json={"client_id": f"fig-{n}", "plate": "甘A1234" + str(n), "people": [
                            {"name": "测试", "id_number": idn, "temperature_c": temp, "disposition": disp,
                             "role": "driver"}]})
        assert r.status_code in (200, 201), r.text
    after = _figures(app, db)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert delta["checkpoints.vehicles"] == 3
    assert delta["checkpoints.persons"] == 3
    assert delta["checkpoints.fever"] == 1
    assert delta["checkpoints.referred"] == 1
    assert delta["checkpoints.turned_back"] == 1


def test_lead_figures_count_received_and_verified(app, client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    before = _figures(app, db)
    leads = [{"name": f"图{n}", "phone": f"1390000{n:04d}", "priority": "urgent",
              "current_address": "兰州市城关区酒泉路街道庆阳路1号"} for n in range(4)]
    r = client.post("/api/v1/leads/batches", json={"source": "数字", "leads": leads},
                    headers=personas.headers("command"))
    assert r.status_code == 201, r.text
    lead = client.get(f"/api/v1/leads/{r.json()['lead_ids'][0]}", headers=personas.headers("command")).json()
    leg = lead["legs"][0]["id"]
    v = client.post(f"/api/v1/leads/{lead['id']}/legs/{leg}/verify", headers=personas.headers("station"),
                    json={"outcome": "found", "temperature_c": 36.5, "measure": "none", "note": "在家"})
    assert v.status_code == 200, v.text
    after = _figures(app, db)
    assert after["leads.received"] - before.get("leads.received", 0) == 4
    assert after["leads.received_urgent"] - before.get("leads.received_urgent", 0) == 4
    assert after["leads.verified"] - before.get("leads.verified", 0) == 1
    assert after["leads.verified_on_time"] - before.get("leads.verified_on_time", 0) == 1


def test_registration_and_tracing_figures(app, db) -> None:  # type: ignore[no-untyped-def]
    from fangkong.registration.arrivals.service import ArrivalInput, register_arrival
    from fangkong.tracing.models import Exposure, TraceCase

    before = _figures(app, db)
    with acting_as(SYSTEM), db.unit_of_work() as s:
        register_arrival(s, ArrivalInput(
            name="来人", doc_number="11010519491231002X", phone="13800000003", origin_code="110105",
            departed_on=today().isoformat(), arrived_on=today().isoformat(), transport="other",
            destination_address="兰州市城关区酒泉路街道庆阳路1号", consent=True), 28)
        persons = s.execute(select(Person.id).limit(4)).scalars().all()
        case = TraceCase(person_id=persons[0], onset=datetime.now(UTC) - timedelta(days=2), profile="edition-9",
                         traced_at=datetime.now(UTC))
        case.exposures += [Exposure(contact_key=f"p:{p}", person_id=p, hop=1) for p in persons[1:3]]
        case.exposures += [Exposure(contact_key=f"p:{persons[3]}", person_id=persons[3], hop=2)]
        s.add(case)
    after = _figures(app, db)
    assert after["registration.arrivals"] - before.get("registration.arrivals", 0) == 1
    assert after["tracing.cases"] - before.get("tracing.cases", 0) == 1
    assert after["tracing.close_contacts"] - before.get("tracing.close_contacts", 0) == 2
    assert after["tracing.secondary_contacts"] - before.get("tracing.secondary_contacts", 0) == 1


def test_observation_figures_count_follow_ups_and_referrals(app, db) -> None:  # type: ignore[no-untyped-def]
    from fangkong.observation.followups import generate_follow_ups
    from fangkong.observation.models import FollowUp, Observation, Referral

    with acting_as(SYSTEM), db.unit_of_work() as s:
        generate_follow_ups(s, today())
    before = _figures(app, db)
    with db.sessions() as s:
        due = s.execute(select(FollowUp).where(FollowUp.day == today())).scalars().all()
        open_obs = s.execute(select(Observation).where(Observation.released_at.is_(None),
                                                       Observation.start < datetime.now(UTC))).scalars().all()
    assert before["observation.followups_due"] == len(due)
    assert before["observation.under_observation"] == len(open_obs)
    by_kind = {kind: sum(1 for o in open_obs if o.kind == kind) for kind in {o.kind for o in open_obs}}
    assert {k: before.get(f"observation.{k}", 0) for k in by_kind} == by_kind  # one figure per kind too
    with acting_as(SYSTEM), db.unit_of_work() as s:
        first = s.get(FollowUp, next(f.id for f in due if f.done_at is None))
        first.done_at, first.done_by = datetime.now(UTC), "测试"
        s.add(Referral(source="follow_up", person_id=first.person_id, at=datetime.now(UTC), reason="fever"))
    after = _figures(app, db)
    assert after["observation.followups_done"] - before.get("observation.followups_done", 0) == 1
    assert after["observation.referrals"] - before.get("observation.referrals", 0) == 1


def test_rebuild_is_idempotent(app, db) -> None:  # type: ignore[no-untyped-def]
    first = _figures(app, db)
    assert _figures(app, db) == first


def _quiet_station(db, settings) -> None:  # type: ignore[no-untyped-def]
    """A new station in the district persona's district, with nothing recorded: a day to zero-report."""
    from fangkong.core.auth import hash_password
    from fangkong.demo.build import DEMO_PASSWORD

    with db.unit_of_work() as s:
        district = s.execute(select(User).where(User.username == "district")).unique().scalar_one().unit
        unit = Unit(name="新建派出所", code="T-QUIET", kind="station", parent_id=district.id, path="")
        s.add(unit)
        s.flush()
        unit.path = f"{district.path}{unit.id}/"
        s.add(User(username="quiet", display_name="新所民警", role="station", unit_id=unit.id,
                   password_hash=hash_password(settings, DEMO_PASSWORD)))


def _referral_now(db, username: str) -> None:  # type: ignore[no-untyped-def]
    """A person of the user's unit referred to health a moment ago: something a zero report cannot deny (the
    demo's own referrals may all lie in yesterday just after midnight)."""
    from fangkong.observation.models import Referral

    with acting_as(SYSTEM), db.unit_of_work() as s:
        unit_id = s.execute(select(User.unit_id).where(User.username == username)).scalar_one()
        person = Person(name="转诊人", unit_id=unit_id)
        s.add(person)
        s.flush()
        s.add(Referral(source="follow_up", person_id=person.id, at=datetime.now(UTC), reason="fever"))


def test_zero_report_and_missing_units_flow(app, client, personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    _quiet_station(db, settings)
    _referral_now(db, "station")
    _figures(app, db)
    busy = personas.browser("station")
    refused = busy.post("/command/report", data={"csrf_token": csrf(busy), "day": today().isoformat(), "zero": "1"})
    assert refused.status_code == 409 and "零报告表示今日无情况" in refused.text  # the station had a referral
    station = personas.browser("quiet")
    page = station.get("/command/report")
    assert page.status_code == 200 and "零报告" in page.text
    r = station.post("/command/report", data={"csrf_token": csrf(station), "day": today().isoformat(), "zero": "1"},
                     follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    district = personas.browser("district")
    status = district.get("/command/reports")
    assert status.status_code == 200
    with db.sessions() as s:
        me = s.execute(select(User).where(User.username == "quiet")).unique().scalar_one()
        reports = s.execute(select(DailyReport).where(DailyReport.day == today())).scalars().all()
        assert [(r.unit_id, r.zero_report) for r in reports] == [(me.unit_id, True)]
        district_unit = s.execute(select(User).where(User.username == "district")).unique().scalar_one().unit
        expected = s.execute(select(Unit).where(Unit.path.startswith(district_unit.path),
                                                Unit.kind.in_(["station", "district"]))).unique().scalars().all()
    missing = [u for u in expected if u.id != me.unit_id]
    assert all(u.name in status.text for u in missing)
    remind = district.post("/command/reports/remind", data={"csrf_token": csrf(district), "day": today().isoformat()},
                           follow_redirects=False)
    assert remind.status_code == 303
    with db.sessions() as s:
        told = set(s.execute(select(Notification.unit_id).where(Notification.kind == "report_missing")).scalars())
    assert told == {u.id for u in missing}
    summary = client.get("/api/v1/figures", headers=personas.headers("district")).json()
    assert summary["reported"] == 1 and summary["expected"] == len(expected)
    assert sorted(summary["missing"]) == sorted(u.name for u in missing)


def test_a_zero_report_is_refused_when_the_platform_counted_something(app, client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    leads = [{"name": "零", "phone": "13900001111", "current_address": "兰州市城关区酒泉路街道庆阳路1号"}]
    client.post("/api/v1/leads/batches", json={"source": "零报", "leads": leads}, headers=personas.headers("command"))
    _referral_now(db, "station")
    _figures(app, db)
    r = client.post("/api/v1/daily-reports", headers=personas.headers("station"),
                    json={"day": today().isoformat(), "zero": True})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    with db.sessions() as s:
        assert s.execute(select(DailyReport)).scalars().all() == []


def test_a_correction_needs_a_reason_and_keeps_the_history(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    h = personas.headers("station")
    day = today().isoformat()
    first = client.post("/api/v1/daily-reports", headers=h, json={"day": day, "values": {"command.cadres": 30}})
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/daily-reports", headers=h, json={"day": day, "values": {"command.cadres": 32}})
    assert again.status_code == 422
    fixed = client.post("/api/v1/daily-reports", headers=h,
                        json={"day": day, "values": {"command.cadres": 32}, "reason": "漏报两人", "version": 1})
    assert fixed.status_code == 201 and fixed.json()["version"] == 2
    stale = client.post("/api/v1/daily-reports", headers=h,
                        json={"day": day, "values": {"command.cadres": 33}, "reason": "再改", "version": 1})
    assert stale.status_code == 409
    bad = client.post("/api/v1/daily-reports", headers=h, json={"day": day, "values": {"command.cadres": -1},
                                                                "reason": "x"})
    assert bad.status_code == 422
    page = personas.browser("station").get("/command/report")
    assert "漏报两人" in page.text


def test_the_deadline_reminds_missing_units_without_anyone_looking(app, db) -> None:  # type: ignore[no-untyped-def]
    from fangkong.command.reports import deadline

    settings = app.state.settings
    jobs = [j for j in app.state.platform.jobs if j.name == "reports.deadline"]
    before = deadline(settings, today()) - timedelta(minutes=1)
    assert run_jobs(app.state.db, settings, jobs, app.state.platform, now=before.astimezone(UTC))[0].result == 0
    after = deadline(settings, today()) + timedelta(minutes=1)
    told = run_jobs(app.state.db, settings, jobs, app.state.platform, now=after.astimezone(UTC))[0].result
    assert told and told > 0
    again = run_jobs(app.state.db, settings, jobs, app.state.platform, now=after.astimezone(UTC))[0].result
    assert again == 0  # told once
    with db.sessions() as s:
        assert s.execute(select(Notification).where(Notification.kind == "report_missing")).scalars().first()


def test_the_excel_report_cell_by_cell(app, client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/daily-reports", headers=personas.headers("station"),
                json={"day": today().isoformat(), "values": {"command.cadres": 41}, "note": "=HYPERLINK(\"x\")"})
    figures = _figures(app, db)
    r = personas.browser("command").get("/command/summary.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["A1"].value == "兰州市公安局疫情防控工作日报" or "疫情防控工作日报" in ws["A1"].value
    assert ws["B2"].value == today().isoformat()
    header = [c.value for c in ws[4]]
    assert header[0] == "项目" and header[-2] == "合计" and header[-1] == "响应以来累计"
    rows = {row[0].value: [c.value for c in row] for row in ws.iter_rows(min_row=5) if row[0].value}
    vehicles = rows["检查车辆"]
    assert vehicles[-2] == figures.get("checkpoints.vehicles", 0)
    assert sum(v for v in vehicles[1:-2]) == vehicles[-2]  # the districts add up to the total
    assert rows["在岗社区干部（人次）"][-2] == 41
    notes = [row for row in ws.iter_rows(values_only=True) if row[0] == "备注"]
    assert notes and notes[0][2].startswith("'=")  # a note is text, never a formula


def test_response_level_starts_the_running_totals(client, personas: Personas) -> None:  # type: ignore[no-untyped-def]
    browser = personas.browser("command")
    bad = browser.post("/command/levels", data={"csrf_token": csrf(browser), "level": "1", "started_on": "1999-01-01"})
    assert bad.status_code == 422 and "2019-12-01" in bad.text
    start = (today() - timedelta(days=3)).isoformat()
    ok = browser.post("/command/levels", data={"csrf_token": csrf(browser), "level": "1", "started_on": start},
                      follow_redirects=False)
    assert ok.status_code == 303
    data = browser.get("/command/data").json()
    assert data["response"]["began"] == start


def test_dashboard_drill_down_and_jurisdiction(app, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    _figures(app, db)
    command = personas.browser("command")
    page = command.get("/command")
    assert page.status_code == 200 and "dashboard-data" in page.text
    data = command.get("/command/data").json()
    assert data["map"]["units"] and all("value" in u for u in data["map"]["units"])
    child = data["map"]["units"][0]["id"]
    assert command.get(f"/command/data?unit={child}").json()["unit"]["id"] == child
    with db.sessions() as s:
        other = s.execute(select(User).where(User.username == "station2")).unique().scalar_one().unit_id
    assert personas.browser("district").get(f"/command/data?unit={other}").status_code == 404


@pytest.mark.parametrize("path", ["/screen", "/screen/data"])
def test_the_big_screen_shows_figures_only(personas: Personas, path: str) -> None:
    screen = personas.browser("screen")
    r = screen.get(path)
    assert r.status_code == 200
    assert screen.get("/people").status_code == 403
    assert screen.get("/api/v1/persons", headers=personas.headers("screen")).status_code == 403


def test_day_parameters_are_bounded(personas: Personas) -> None:
    command = personas.browser("command")
    assert command.get("/command/reports?day=9999-12-31").status_code == 422
    assert command.get("/command/summary?day=0001-01-01").status_code == 422
    assert command.get("/command/summary.xlsx?day=nonsense").status_code == 422
    _ = date.today()
