"""Daily self-report by people under observation (issue 20): the personal link, the public page, referral on
fever, the call list, the figures; bad input (an expired link, 60 °C, a replayed form) changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from fangkong.core.audit import AuditEntry as AuditLog
from fangkong.core.models import User
from fangkong.core.notify import Notification
from fangkong.core.scheduler import JobContext
from fangkong.observation.care import parse_team_roles
from fangkong.observation.followups import generate_follow_ups, local_today
from fangkong.observation.loops import self_report_call_job
from fangkong.observation.models import FollowUp, Referral, SelfReport, SelfReportLink
from fangkong.observation.selfreport import given_name, token_hash
from tests.support import csrf
from tests.web.test_followups import _free_person, _observation_id, _observe


def _issue(personas, observation_id: int, role: str = "station") -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Issue a link as the officer; return (token, the notice page's HTML)."""
    officer = personas.browser(role)
    r = officer.post(f"/care/{observation_id}/self-report", data={"csrf_token": csrf(officer)})
    assert r.status_code == 200, r.text
    token = re.search(r"/r/([A-Za-z0-9_-]{20,60})", r.text).group(1)  # type: ignore[union-attr]
    return token, r.text


def _observed(personas, db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    person = _free_person(db)
    _observe(personas, person.id)
    observation = _observation_id(db, person.id)
    with db.unit_of_work() as s:
        generate_follow_ups(s, local_today())
    return person.id, observation


def _form(client, token: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page = client.get(f"/r/{token}")
    assert page.status_code == 200, page.text
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return {"csrf_token": csrf(client), "nonce": nonce}


def test_the_notice_gives_a_personal_link_qr_and_sms_and_only_the_hash_is_kept(personas, db, client) -> None:  # type: ignore[no-untyped-def]
    person, observation = _observed(personas, db)
    token, notice = _issue(personas, observation)
    assert "data:image/svg+xml" in notice and "【防控】" in notice
    with db.sessions() as s:
        link = s.execute(select(SelfReportLink).where(SelfReportLink.observation_id == observation)).scalar_one()
        assert link.token_hash == token_hash(token) and token not in link.token_hash
        name = s.execute(select(func.min(AuditLog.id)).where(AuditLog.action == "issue")).scalar_one()
        assert name is not None
    page = client.get(f"/r/{token}")
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert "个人信息" in page.text  # the PIPL notice, in Chinese without choosing a language
    with db.sessions() as s:
        from fangkong.people.models import Person
        full = s.get(Person, person).name
    assert full not in page.text and given_name(full) in page.text


def test_a_self_report_of_38_1_refers_to_health_at_once_and_counts_as_the_follow_up(personas, db, client) -> None:  # type: ignore[no-untyped-def]
    person, observation = _observed(personas, db)
    token, _ = _issue(personas, observation)
    r = client.post(f"/r/{token}", data={**_form(client, token), "temperature_c": "38.1", "at_home": "yes"})
    assert r.status_code == 200, r.text
    assert "卫生" in r.text or "健康" in r.text
    with db.sessions() as s:
        referral = s.execute(select(Referral).where(Referral.person_id == person)).scalar_one()
        assert referral.source == "self_report" and "38.1" in referral.reason
        follow_up = s.execute(select(FollowUp).where(FollowUp.observation_id == observation,
                                                     FollowUp.day == local_today())).scalar_one()
        assert follow_up.done_at is not None and follow_up.source == "self_report"
        assert follow_up.referral_id == referral.id
        told = s.execute(select(func.count()).select_from(Notification)
                         .where(Notification.kind == "self_report_referral")).scalar_one()
        assert told >= 1
    health = personas.browser("health").get("/api/v1/referrals", headers=personas.headers("health")).json()
    assert any(x["person_id"] == person for x in health)
    listing = personas.browser("station").get("/followups?mine=0")
    assert "自报" in listing.text or "Self-reported" in listing.text


def test_bad_input_gets_a_clear_answer_and_changes_nothing(personas, db, client) -> None:  # type: ignore[no-untyped-def]
    _person, observation = _observed(personas, db)
    token, _ = _issue(personas, observation)
    form = _form(client, token)
    hot = client.post(f"/r/{token}", data={**form, "temperature_c": "60", "at_home": "yes"})
    assert hot.status_code == 422 and "34.0" in hot.text and "43.0" in hot.text
    ok = client.post(f"/r/{token}", data={**form, "temperature_c": "36.6", "at_home": "yes"})
    assert ok.status_code == 200
    replay = client.post(f"/r/{token}", data={**form, "temperature_c": "36.6", "at_home": "yes"})
    assert replay.status_code == 409 and "已" in replay.text
    with db.unit_of_work() as s:
        assert s.execute(select(func.count(SelfReport.id))).scalar_one() == 1
        s.execute(update(SelfReportLink).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    gone = client.post(f"/r/{token}", data={**_form_any(client), "nonce": "n" * 22, "temperature_c": "36.6"})
    assert gone.status_code == 410 and "不再有效" in gone.text
    assert client.get(f"/r/{token}").status_code == 410
    with db.sessions() as s:
        assert s.execute(select(func.count(SelfReport.id))).scalar_one() == 1


def _form_any(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"csrf_token": csrf(client)}


def test_a_new_link_revokes_the_old_and_revoking_ends_it(personas, db, client) -> None:  # type: ignore[no-untyped-def]
    _person, observation = _observed(personas, db)
    old, _ = _issue(personas, observation)
    new, _ = _issue(personas, observation)
    assert client.get(f"/r/{old}").status_code == 410
    assert client.get(f"/r/{new}").status_code == 200
    officer = personas.browser("station")
    r = officer.post(f"/care/{observation}/self-report/revoke", data={"csrf_token": csrf(officer)},
                     follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/r/{new}").status_code == 410
    assert client.get("/r/" + "x" * 30).status_code == 410


def test_who_did_not_report_by_the_hour_is_first_on_the_call_list(personas, db, client, app) -> None:  # type: ignore[no-untyped-def]
    silent, silent_obs = _observed(personas, db)
    _issue(personas, silent_obs)
    with db.unit_of_work() as s:
        community = s.execute(select(User.id).where(User.username == "community")).scalar_one()
    personas.browser("station").put(f"/api/v1/care-teams/{silent_obs}/members/cadre", json={"user_id": community},
                                    headers=personas.headers("station"))
    settings = app.state.settings
    late = datetime.now(UTC)
    early = settings.model_copy(update={"self_report_call_hour": "00:00"})
    with db.unit_of_work() as s:
        assert self_report_call_job(s, JobContext(early, late, None)) >= 1
        assert self_report_call_job(s, JobContext(early, late, None)) == 0  # once
    first = personas.browser("station").get("/api/v1/followups", headers=personas.headers("station")).json()
    open_items = [i for i in first["items"] if i["done_at"] is None]
    assert open_items[0]["person_id"] == silent
    page = personas.browser("community").get("/followups")
    assert "前未自报：请先电话联系" in page.text
    with db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Notification)
                         .where(Notification.kind == "self_report_missing",
                                Notification.user_id == community)).scalar_one() == 1
    assert parse_team_roles(settings.care_team_roles)


def test_self_reports_are_counted_in_the_figures(personas, db, client, app) -> None:  # type: ignore[no-untyped-def]
    from fangkong.core.capability import DayWindow
    from fangkong.observation.figures import daily_figures

    _person, observation = _observed(personas, db)
    token, _ = _issue(personas, observation)
    client.post(f"/r/{token}", data={**_form(client, token), "temperature_c": "37.5", "at_home": "yes"})
    with db.sessions() as s:
        rows = list(daily_figures(s, DayWindow(local_today())))
    keys = {k for _u, k, _n in rows}
    assert {"observation.self_reports", "observation.self_report_referrals"} <= keys


def test_link_reads_issues_and_revocations_are_audited(personas, db, client) -> None:  # type: ignore[no-untyped-def]
    _person, observation = _observed(personas, db)
    token, _ = _issue(personas, observation)
    client.get(f"/r/{token}")
    officer = personas.browser("station")
    officer.post(f"/care/{observation}/self-report/revoke", data={"csrf_token": csrf(officer)})
    with db.sessions() as s:
        actions = set(s.execute(select(AuditLog.action).where(AuditLog.object_type == "self_report_links")).scalars())
        assert {"issue", "read", "revoke"} <= actions
        logged = " ".join(s.execute(select(AuditLog.detail).where(AuditLog.object_type == "self_report_links"))
                          .scalars())
        assert token not in logged and token_hash(token) not in logged


def test_only_the_given_name_is_shown() -> None:
    assert given_name("张三丰") == "三丰"
    assert given_name("王五") == "五"
    assert given_name("欧阳娜娜") == "娜娜"
    assert given_name("Anna Schmidt") == "Anna"
    assert given_name("") == ""


def test_the_call_hour_is_local_time() -> None:
    from fangkong.observation.selfreport import call_hour_passed

    assert not call_hour_passed(datetime(2026, 12, 4, 1, 59, tzinfo=UTC), "10:00")  # 09:59 in Lanzhou
    assert call_hour_passed(datetime(2026, 12, 4, 2, 0, tzinfo=UTC), "10:00")


def test_a_third_report_in_a_day_is_refused_and_nothing_is_kept(personas, db, client) -> None:  # type: ignore[no-untyped-def]
    _person, observation = _observed(personas, db)
    token, _ = _issue(personas, observation)
    for _ in range(2):
        assert client.post(f"/r/{token}", data={**_form(client, token), "temperature_c": "36.4",
                                                 "at_home": "yes"}).status_code == 200
    third = client.post(f"/r/{token}", data={**_form(client, token), "temperature_c": "36.4", "at_home": "yes"})
    assert third.status_code == 409 and "两次" in third.text
    with db.sessions() as s:
        assert s.execute(select(func.count(SelfReport.id)).where(SelfReport.observation_id == observation)
                         ).scalar_one() == 2
