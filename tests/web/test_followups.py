"""Care teams and daily follow-ups: lists, one-tap recording, referrals to health, missed lists, release
blocked by findings, paper sheets, command's counts (issue 5)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, update

from fangkong.core.models import Unit, User
from fangkong.observation.care import parse_team_roles
from fangkong.observation.followups import generate_follow_ups, local_today
from fangkong.observation.models import CareTeam, FollowUp, Observation
from fangkong.people.models import Person, RiskStatus
from tests.support import csrf


def _free_person(db, username: str = "station") -> Person:  # type: ignore[no-untyped-def]
    """A person in the user's unit without any risk status (the demo's observations left alone)."""
    with db.sessions() as s:
        unit_id = s.execute(select(User.unit_id).where(User.username == username)).scalar_one()
        taken = select(RiskStatus.person_id)
        return s.execute(select(Person).where(Person.unit_id == unit_id, Person.id.not_in(taken))
                         .order_by(Person.id.desc()).limit(1)).unique().scalar_one()


def _observe(personas, person_id: int, status: str = "close_contact", days_ago: float = 0,  # type: ignore[no-untyped-def]
             role: str = "station") -> int:
    exposure = datetime.now(UTC) - timedelta(days=days_ago, minutes=5)
    r = personas.browser(role).post(f"/api/v1/persons/{person_id}/status", headers=personas.headers(role),
                                    json={"status": status, "reason": "流调判定密接",
                                          "last_exposure": exposure.isoformat(), "place": "隔离酒店"})
    assert r.status_code == 200, r.text
    return person_id


def _observation_id(db, person_id: int) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(Observation.id).where(Observation.person_id == person_id,
                                                      Observation.released_at.is_(None))).scalar_one()


def _today_item(personas, person_id: int, role: str = "station", **params) -> dict:  # type: ignore[no-untyped-def]
    r = personas.browser(role).get("/api/v1/followups", params=params, headers=personas.headers(role))
    assert r.status_code == 200, r.text
    return next(i for i in r.json()["items"] if i["person_id"] == person_id)


def _record(personas, follow_up_id: int, role: str = "station", **body):  # type: ignore[no-untyped-def]
    return personas.browser(role).post(f"/api/v1/followups/{follow_up_id}/record", json=body,
                                       headers=personas.headers(role))


def _assign(personas, observation_id: int, team_role: str, user_id: int, role: str = "station"):  # type: ignore[no-untyped-def]
    return personas.browser(role).put(f"/api/v1/care-teams/{observation_id}/members/{team_role}",
                                      json={"user_id": user_id}, headers=personas.headers(role))


def _user_id(db, username: str) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(User.id).where(User.username == username)).scalar_one()


def test_a_new_close_contact_is_on_todays_list_with_its_test_day(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)
    item = _today_item(personas, person)
    assert item["day_no"] == 1 and item["test_due"] is True  # edition-9: tests on days 1, 2, 3, 5, 7
    assert (item["method"] == "site" and item["done_at"] is None and item["phone"] is None) or "*" in item["phone"]
    later = personas.browser("station").get("/api/v1/followups", headers=personas.headers("station"),
                                            params={"day": (local_today() + timedelta(days=3)).isoformat()})
    assert later.status_code == 200 and person not in {i["person_id"] for i in later.json()["items"]}


def test_generation_is_idempotent_and_marks_test_days_from_the_profile(personas, db) -> None:
    person = _observe(personas, _free_person(db).id, days_ago=3)  # day 4 today, day 5 tomorrow
    tomorrow = local_today() + timedelta(days=1)
    with db.unit_of_work() as s:
        generate_follow_ups(s, tomorrow)
        assert generate_follow_ups(s, tomorrow) == 0
        rows = {f.day: f for f in s.execute(select(FollowUp).where(FollowUp.person_id == person)).scalars()}
    assert rows[tomorrow].day_no == 5 and rows[tomorrow].test_due is True
    assert _today_item(personas, person)["test_due"] is False  # day 4


def test_care_team_takes_the_configured_roles_and_only_eligible_users(personas, db) -> None:
    obs = _observation_id(db, _observe(personas, _free_person(db).id))
    assert _assign(personas, obs, "officer", _user_id(db, "station")).status_code == 200
    assert _assign(personas, obs, "cadre", _user_id(db, "community")).status_code == 200
    team = _assign(personas, obs, "doctor", _user_id(db, "health"))
    assert team.status_code == 200 and team.json()["missing"] == []
    assert {m["team_role"] for m in team.json()["members"]} == {"officer", "cadre", "doctor"}
    wrong_role = _assign(personas, obs, "officer", _user_id(db, "checkpoint"))
    assert wrong_role.status_code == 422 and wrong_role.json()["errors"][0]["field"] == "user_id"
    other_district = _assign(personas, obs, "officer", _user_id(db, "station2"))
    assert other_district.status_code == 422
    unknown = _assign(personas, obs, "priest", _user_id(db, "station"))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "team_role"
    assert _assign(personas, obs, "officer", _user_id(db, "station2"), role="station2").status_code == 404


def test_community_cadre_sees_and_records_only_the_persons_of_its_teams(personas, db) -> None:
    mine = _observe(personas, _free_person(db).id)
    _assign(personas, _observation_id(db, mine), "cadre", _user_id(db, "community"))
    other = _observe(personas, _free_person(db).id)
    listed = personas.browser("community").get("/api/v1/followups", headers=personas.headers("community")).json()
    ids = {i["person_id"] for i in listed["items"]}
    assert mine in ids and other not in ids
    other_item = _today_item(personas, other)
    assert personas.browser("community").get(f"/api/v1/followups/{other_item['id']}",
                                             headers=personas.headers("community")).status_code == 404
    assert _record(personas, other_item["id"], "community", temperature_c=36.5).status_code == 404
    mine_item = _today_item(personas, mine, "community")
    assert _record(personas, mine_item["id"], "community", temperature_c=36.5).status_code == 200
    teams = personas.browser("community").get("/api/v1/care-teams", headers=personas.headers("community")).json()
    assert mine in {t["person_id"] for t in teams} and other not in {t["person_id"] for t in teams}


def test_fever_refers_to_health_at_once_and_health_acknowledges_it(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)
    item = _today_item(personas, person)
    r = _record(personas, item["id"], temperature_c=37.3, symptoms=["cough"], note="自述乏力")
    assert r.status_code == 200 and r.json()["referral_id"] is not None and r.json()["referral_acknowledged"] is False
    referrals = personas.browser("health").get("/api/v1/referrals", headers=personas.headers("health")).json()
    mine = next(x for x in referrals if x["id"] == r.json()["referral_id"])
    assert mine["source"] == "follow_up" and mine["checkpoint"] is None and "37.3" in mine["reason"]
    health = personas.browser("health")
    page = health.get("/referrals").text
    assert "每日随访" in page and "咳嗽" in page
    assert health.post(f"/referrals/{mine['id']}/acknowledge", data={"csrf_token": csrf(health),
                                                                      "handling": "home_observation"},
                       follow_redirects=False).status_code == 303
    assert _today_item(personas, person)["referral_acknowledged"] is True


def test_a_normal_follow_up_makes_no_referral(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)
    r = _record(personas, _today_item(personas, person)["id"], temperature_c=37.2, test_result="negative")
    assert r.status_code == 200 and r.json()["referral_id"] is None and r.json()["test_result"] == "negative"


@pytest.mark.parametrize("body, field", [({"temperature_c": 33.9}, "temperature_c"),
                                         ({"temperature_c": 43.1}, "temperature_c"),
                                         ({"temperature_c": 36.5, "symptoms": ["hiccups"]}, "symptoms"),
                                         ({"temperature_c": 36.5, "test_result": "maybe"}, "test_result")])
def test_bad_findings_are_refused_naming_the_field_and_nothing_is_written(personas, db, body, field) -> None:
    person = _observe(personas, _free_person(db).id)
    item = _today_item(personas, person)
    r = _record(personas, item["id"], **body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    assert _today_item(personas, person)["done_at"] is None


def test_recording_twice_conflicts_and_tomorrow_cannot_be_recorded_today(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)
    item = _today_item(personas, person)
    assert _record(personas, item["id"], temperature_c=36.4).status_code == 200
    assert _record(personas, item["id"], temperature_c=36.6).status_code == 409
    tomorrow = _today_item(personas, person, day=(local_today() + timedelta(days=1)).isoformat())
    early = _record(personas, tomorrow["id"], temperature_c=36.6)
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "day"


def test_a_follow_up_outside_the_jurisdiction_is_not_found(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)
    item = _today_item(personas, person)
    outsider = personas.browser("station2")
    assert outsider.get(f"/api/v1/followups/{item['id']}", headers=personas.headers("station2")).status_code == 404
    assert _record(personas, item["id"], "station2", temperature_c=36.5).status_code == 404
    assert outsider.get(f"/followups/{item['id']}").status_code == 404


def test_a_follow_up_nobody_recorded_is_flagged_missed_the_next_day(personas, db) -> None:
    person = _observe(personas, _free_person(db).id, days_ago=2)
    yesterday = local_today() - timedelta(days=1)
    with db.unit_of_work() as s:
        generate_follow_ups(s, yesterday)
    for role in ("station", "command"):
        missed = personas.browser(role).get("/api/v1/followups/missed", headers=personas.headers(role)).json()
        assert any(m["person_id"] == person and m["day"] == yesterday.isoformat() for m in missed), role
    other = personas.browser("station2").get("/api/v1/followups/missed", headers=personas.headers("station2")).json()
    assert person not in {m["person_id"] for m in other}
    page = personas.browser("station").get("/followups/missed").text
    assert "漏访" in page or "未随访" in page


def test_symptoms_in_a_follow_up_block_release_with_the_reason(personas, db) -> None:
    blocked = _observe(personas, _free_person(db).id, status="secondary_contact")
    _record(personas, _today_item(personas, blocked)["id"], temperature_c=36.8, symptoms=["sore_throat"])
    clean = _observe(personas, _free_person(db).id, status="secondary_contact")
    _record(personas, _today_item(personas, clean)["id"], temperature_c=36.5)
    with db.unit_of_work() as s:
        s.execute(update(Observation).where(Observation.person_id.in_([blocked, clean]))
                  .values(planned_end=datetime.now(UTC) - timedelta(minutes=1)))
    health = personas.browser("health")
    refused = health.post(f"/api/v1/persons/{blocked}/release", json={}, headers=personas.headers("health"))
    assert refused.status_code == 422 and "咽痛" in refused.json()["errors"][0]["message"]
    assert "咽痛" in health.get("/people/status").text
    r = health.post("/people/status/release", data={"csrf_token": csrf(health), "reason": "期满无症状"},
                    follow_redirects=False)
    assert r.status_code == 303
    status = {p: health.get(f"/api/v1/persons/{p}/status", headers=personas.headers("health")).json()["current"]
              ["status"] for p in (blocked, clean)}
    assert status == {blocked: "secondary_contact", clean: "released"}


def test_recorded_follow_ups_appear_on_the_timeline(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)
    _record(personas, _today_item(personas, person)["id"], temperature_c=38.0)
    page = personas.browser("station").get(f"/people/{person}").text
    assert "随访" in page and "38.0 °C" in page and "移交卫健" in page


def _filled(sheet: bytes, temperatures: dict[int, object]) -> bytes:
    book = load_workbook(io.BytesIO(sheet))
    ws = book.active
    for row in ws.iter_rows(min_row=3):
        if row[0].value in temperatures:
            row[10].value = temperatures[row[0].value]
            row[11].value = "无"
            row[12].value = "阴性"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(c, data: bytes):  # type: ignore[no-untyped-def]
    return c.post("/followups/import", data={"csrf_token": csrf(c)},
                  files={"file": ("随访表.xlsx", data, "application/octet-stream")})


def test_the_sheet_goes_out_on_paper_and_comes_back_all_or_nothing(personas, db) -> None:
    a, b = (_observe(personas, _free_person(db).id) for _ in range(2))
    ids = {p: _today_item(personas, p)["id"] for p in (a, b)}
    c = personas.browser("station")
    sheet = c.get("/followups/sheet.xlsx")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("application/vnd.openxml")
    exported = {row[0]: row for row in load_workbook(io.BytesIO(sheet.content)).active.iter_rows(min_row=3,
                                                                                               values_only=True)}
    assert set(ids.values()) <= set(exported) and "*" in (exported[ids[a]][2] or "*")
    bad = _upload(c, _filled(sheet.content, {ids[a]: 36.6, ids[b]: 45}))
    assert bad.status_code == 422 and "34" in bad.text
    assert _today_item(personas, a)["done_at"] is None
    good = _upload(c, _filled(sheet.content, {ids[a]: 36.6, ids[b]: "37.5"}))
    assert good.status_code == 200, good.text
    sha = good.text.split('name="sha256" value="')[1].split('"')[0]
    done = c.post("/followups/import/confirm", data={"csrf_token": csrf(c), "sha256": sha, "file_name": "随访表.xlsx"},
                  follow_redirects=False)
    assert done.status_code == 303
    assert _today_item(personas, a)["temperature_c"] == 36.6
    assert _today_item(personas, b)["referral_id"] is not None  # 37.5 is fever
    again = c.post("/followups/import/confirm", data={"csrf_token": csrf(c), "sha256": sha,
                                                      "file_name": "随访表.xlsx"}, follow_redirects=False)
    assert again.status_code == 303  # the same sheet again: recorded rows skipped, nothing twice
    with db.sessions() as s:
        assert s.execute(select(FollowUp.temperature_c).where(FollowUp.id == ids[b])).scalar_one() == 37.5
    changed = _upload(c, _filled(sheet.content, {ids[a]: 36.9}))
    assert changed.status_code == 422  # a recorded follow-up is not overwritten from paper


def test_a_sheet_row_for_someone_elses_follow_up_is_a_row_error(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)
    item = _today_item(personas, person)
    book = Workbook()
    ws = book.active
    ws.append(["随访编号", "姓名", "体温(℃)", "症状"])
    ws.append([item["id"], "x", 36.5, "咳嗽、头晕"])
    out = io.BytesIO()
    book.save(out)
    outsider = _upload(personas.browser("station2"), out.getvalue())
    assert outsider.status_code == 422 and str(item["id"]) in outsider.text
    own = _upload(personas.browser("station"), out.getvalue())
    assert own.status_code == 422 and "头晕" in own.text  # an unknown symptom word names itself


def test_command_answers_close_contacts_in_quarantine_in_qilihe_and_who_ends_tomorrow(personas, db) -> None:
    with db.sessions() as s:
        district = s.execute(select(Unit.id).where(Unit.kind == "district", Unit.area_code == "620103")).scalar_one()
    params = {"district_id": district, "status": "close_contact", "kind": "quarantine"}
    c, headers = personas.browser("command"), personas.headers("command")
    before = c.get("/api/v1/observations", params=params, headers=headers).json()
    ends_tomorrow = _observe(personas, _free_person(db, "station2").id, days_ago=6, role="station2")
    later = _observe(personas, _free_person(db, "station2").id, days_ago=1, role="station2")
    _observe(personas, _free_person(db, "station2").id, status="secondary_contact", role="station2")
    _observe(personas, _free_person(db).id)  # 城关区
    with db.unit_of_work() as s:  # make the period end tomorrow at noon, whatever the time now
        noon = datetime.combine(local_today() + timedelta(days=1), datetime.min.time()).replace(hour=4, tzinfo=UTC)
        s.execute(update(Observation).where(Observation.person_id == ends_tomorrow).values(planned_end=noon))
    after = c.get("/api/v1/observations", params=params, headers=headers).json()
    assert after["total"] == before["total"] + 2
    assert after["ending_tomorrow"] == before["ending_tomorrow"] + 1
    tomorrow = c.get("/api/v1/observations", params={**params, "ends": "tomorrow"}, headers=headers).json()
    assert ends_tomorrow in {i["person_id"] for i in tomorrow["items"]}
    assert later not in {i["person_id"] for i in tomorrow["items"]}
    row = next(d for d in c.get("/api/v1/observations/counts", headers=headers).json() if d["district_id"] == district)
    assert row["close_contacts_in_quarantine"] == after["total"]
    assert row["close_contacts_ending_tomorrow"] == after["ending_tomorrow"]
    page = c.get("/observations", params=params)
    assert page.status_code == 200 and f'data-testid="total">{after["total"]}<' in page.text
    assert "七里河区" in page.text


def test_counts_show_follow_ups_done_against_due_per_district(personas, db) -> None:
    c, headers = personas.browser("command"), personas.headers("command")

    def chengguan() -> dict:  # type: ignore[type-arg]
        return next(d for d in c.get("/api/v1/observations/counts", headers=headers).json()
                    if d["area_code"] == "620102")

    before = chengguan()
    person = _observe(personas, _free_person(db).id)
    middle = chengguan()
    assert middle["due"] == before["due"] + 1 and middle["done"] == before["done"]
    _record(personas, _today_item(personas, person)["id"], temperature_c=36.5)
    assert chengguan()["done"] == before["done"] + 1


def test_station_runs_its_round_on_the_pages(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)
    item = _today_item(personas, person)
    c = personas.browser("station")
    listing = c.get("/followups")
    assert listing.status_code == 200 and f'id="fu-{item["id"]}"' in listing.text
    bad = c.post(f"/followups/{item['id']}", data={"csrf_token": csrf(c), "temperature_c": "50"})
    assert bad.status_code == 422 and "34" in bad.text
    ok = c.post(f"/followups/{item['id']}", data={"csrf_token": csrf(c), "temperature_c": "36,7",
                                                  "symptoms": ["fatigue"], "back": "/followups"},
                follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"/followups#fu-{item['id']}"
    recorded = _today_item(personas, person)
    assert recorded["temperature_c"] == 36.7 and recorded["symptoms"] == ["fatigue"]
    obs = _observation_id(db, person)
    team = c.post(f"/care/{obs}/members", data={"csrf_token": csrf(c), "team_role": "officer",
                                                "user_id": str(_user_id(db, "station"))}, follow_redirects=False)
    assert team.status_code == 303
    assert "酒泉路派出所民警" in c.get(f"/care/{obs}").text
    assert c.get("/care").status_code == 200


def test_the_demo_city_has_care_teams_and_follow_ups_for_community_and_station(personas, db) -> None:
    with db.sessions() as s:
        assert s.execute(select(CareTeam.id).limit(1)).first() is not None
    community = personas.browser("community")
    mine = community.get("/care")
    assert mine.status_code == 200 and "社区干部" in mine.text
    assert community.get("/followups").status_code == 200
    listed = community.get("/api/v1/followups", headers=personas.headers("community")).json()
    assert listed["due"] > 0


def test_care_team_roles_setting_is_parsed_and_checked() -> None:
    roles = parse_team_roles("officer=station,cadre=community,doctor=health|community,grid=community")
    assert list(roles) == ["officer", "cadre", "doctor", "grid"] and roles["doctor"] == {"health", "community"}
    for bad in ("", "officer", "officer=admin", "officer=station,officer=station", "Officer=station"):
        with pytest.raises(ValueError):
            parse_team_roles(bad)


def test_a_bad_care_team_setting_stops_the_start(tmp_path) -> None:
    from fangkong.core.settings import load_settings

    with pytest.raises(ValueError):
        load_settings(var_dir=tmp_path, secret_key="s" * 40, care_team_roles="doctor=auditor")


def test_the_nightly_command_generates_the_lists_once(settings, db, monkeypatch) -> None:
    from typer.testing import CliRunner

    from fangkong.cli import app as cli

    monkeypatch.setenv("FANGKONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(settings.var_dir))
    day = (local_today() + timedelta(days=1)).isoformat()
    first = CliRunner().invoke(cli, ["followups", "generate", "--day", day])
    assert first.exit_code == 0, first.output
    with db.sessions() as s:
        made = s.execute(select(FollowUp.id).where(FollowUp.day == local_today() + timedelta(days=1))).all()
    assert len(made) > 0 and f"{len(made)} " in first.output
    again = CliRunner().invoke(cli, ["followups", "generate", "--day", day])
    assert again.exit_code == 0 and ": 0 " in again.output
    assert CliRunner().invoke(cli, ["followups", "generate", "--day", "tomorrow"]).exit_code == 2


def test_recording_is_audited_without_copying_the_findings(personas, db) -> None:
    from fangkong.core.audit import AuditEntry

    person = _observe(personas, _free_person(db).id)
    item = _today_item(personas, person)
    _record(personas, item["id"], temperature_c=38.4, symptoms=["smell_taste"], note="嗅觉减退三天")
    personas.browser("station").get(f"/api/v1/followups/{item['id']}", headers=personas.headers("station"))
    with db.sessions() as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.detail).where(
            AuditEntry.object_type == "follow_ups", AuditEntry.object_id == str(item["id"]))).all()
    assert {"record", "read"} <= {a for a, _ in rows}
    assert not any("38.4" in d or "嗅觉" in d or "smell" in d for _, d in rows)


def test_command_narrows_the_list_to_one_station(personas, db) -> None:
    here = _observe(personas, _free_person(db).id)
    there = _observe(personas, _free_person(db, "station2").id, role="station2")
    with db.sessions() as s:
        unit = s.execute(select(User.unit_id).where(User.username == "station2")).scalar_one()
    c, headers = personas.browser("command"), personas.headers("command")
    ids = {i["person_id"] for i in c.get("/api/v1/followups", params={"unit_id": unit}, headers=headers)
           .json()["items"]}
    assert there in ids and here not in ids
    page = c.get("/followups", params={"unit_id": unit})
    assert page.status_code == 200 and "西园派出所" in page.text


def test_filter_forms_submitting_empty_choices_work_and_bad_ids_name_the_field(personas) -> None:
    c = personas.browser("command")
    assert c.get("/observations", params={"district_id": "", "status": "", "kind": "", "ends": ""}).status_code == 200
    assert c.get("/followups", params={"unit_id": ""}).status_code == 200
    bad = c.get("/observations", params={"district_id": "abc"})
    assert bad.status_code == 422 and "district_id" in bad.text


def test_a_close_contact_is_released_only_after_the_home_monitoring_days(personas, db) -> None:
    person = _observe(personas, _free_person(db).id)  # edition-9: 7 days centralised, then 3 at home
    with db.unit_of_work() as s:
        s.execute(update(Observation).where(Observation.person_id == person)
                  .values(planned_end=datetime.now(UTC) - timedelta(hours=1)))
    tomorrow = _today_item(personas, person, day=(local_today() + timedelta(days=1)).isoformat())
    assert tomorrow["phase"] == "home_monitoring" and tomorrow["method"] == "call"  # still followed up
    health = personas.browser("health")
    early = health.post(f"/api/v1/persons/{person}/release", json={}, headers=personas.headers("health"))
    assert early.status_code == 422 and "尚未" in early.json()["errors"][0]["message"]
    with db.unit_of_work() as s:
        s.execute(update(Observation).where(Observation.person_id == person)
                  .values(home_monitoring_until=datetime.now(UTC) - timedelta(minutes=1)))
    done = health.post(f"/api/v1/persons/{person}/release", json={}, headers=personas.headers("health"))
    assert done.status_code == 200 and done.json()["current"]["status"] == "released"


def test_the_list_pages_open_follow_ups_first_with_totals_over_all_pages(personas, db) -> None:
    from fangkong.core.context import Actor, acting_as
    from fangkong.observation.followups import day_list

    done = _observe(personas, _free_person(db).id)
    _record(personas, _today_item(personas, done)["id"], temperature_c=36.5)
    for _ in range(2):
        _observe(personas, _free_person(db).id)
    with acting_as(Actor(username="station")), db.unit_of_work() as s:
        user = s.execute(select(User).where(User.username == "station")).unique().scalar_one()
        pages = [day_list(s, user, local_today(), page=n, page_size=2) for n in range(1, 30)]
    first = pages[0]
    assert first.pages == -(-first.due // 2) and all(p.due == first.due and p.done == first.done for p in pages)
    seen = [r.follow_up.id for p in pages[:first.pages] for r in p.rows]
    assert len(seen) == len(set(seen)) == first.due
    states = [r.follow_up.done_at is not None for p in pages[:first.pages] for r in p.rows]
    assert states == sorted(states)  # every open one before any done one
    assert pages[-1].page == first.pages  # past the end: the last page


def test_a_period_that_ended_days_ago_does_not_count_as_ending_today(personas, db) -> None:
    c, headers = personas.browser("command"), personas.headers("command")
    before = next(d for d in c.get("/api/v1/observations/counts", headers=headers).json() if d["area_code"] == "620102")
    person = _observe(personas, _free_person(db).id)
    with db.unit_of_work() as s:  # in its home-monitoring days: the centralised period ended two days ago
        s.execute(update(Observation).where(Observation.person_id == person)
                  .values(planned_end=datetime.now(UTC) - timedelta(days=2)))
    after = next(d for d in c.get("/api/v1/observations/counts", headers=headers).json() if d["area_code"] == "620102")
    assert after["under_observation"] == before["under_observation"] + 1
    assert after["ending_today"] == before["ending_today"]
    listed = c.get("/api/v1/observations", params={"ends": "today"}, headers=headers).json()
    assert person not in {i["person_id"] for i in listed["items"]}
