"""The field app offline (issue 20), in headless Chromium: the passage form, the follow-up round and a lead open
with the network cut; three passages and a follow-up recorded offline wait on the device (the bar says how many)
and are sent exactly once when the network returns; a verification of a lead handed elsewhere meanwhile comes
back as a conflict that stays on the device until dismissed; a self-report of 38.1 °C on a phone refers to health.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from fangkong.checkpoints.models import Checkpoint, Passage
from fangkong.core.models import User
from fangkong.core.riskareas import RiskArea
from fangkong.demo.build import DEMO_PASSWORD
from fangkong.observation.followups import generate_follow_ups, local_today
from fangkong.observation.models import FollowUp, Referral
from fangkong.people.models import Person, RiskStatus
from tests.browser.test_browser_smoke import browser, server  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.browser


def _context(browser, base: str, username: str):  # type: ignore[no-untyped-def]  # noqa: F811
    # bypass_csp: the test's own waits evaluate expressions, which the pages' CSP forbids (rightly) to the pages
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return context, page


def _controlled(page, url: str) -> None:  # type: ignore[no-untyped-def]
    """Open `url` once the field worker controls the page, so that it keeps a copy for offline use."""
    page.goto(url)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_load_state("load")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)


def _waiting(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.get_attribute(".field-waiting", "data-count") or 0)


def test_three_passages_and_a_follow_up_recorded_offline_are_sent_once(server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, db = server
    _observe_one(browser, base, db)
    with db.unit_of_work() as s:
        s.add(RiskArea(area_code="420100", name=None, level="high", valid_from=datetime.now(UTC) - timedelta(days=1)))
        generate_follow_ups(s, local_today())
        checkpoint = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
        before = s.execute(select(func.count(Passage.id))).scalar_one()
    cp_context, cp = _context(browser, base, "checkpoint")
    _controlled(cp, f"{base}/checkpoints/{checkpoint}")
    st_context, st = _context(browser, base, "station")
    _controlled(st, f"{base}/followups")

    cp_context.set_offline(True)
    cp.reload()  # the form opens from the kept copy
    assert cp.locator("form.passage").count() == 1
    # The kept risk areas propose the referral offline: an ID issued in Wuhan (a high-risk area here).
    cp.fill("input[name='people.0.name']", "武汉来人")
    cp.fill("input[name='people.0.id_number']", "420102199001011234")
    cp.wait_for_function("document.querySelector(\"select[name='people.0.disposition']\").value === 'referred'")
    cp.wait_for_function("document.querySelector('.field-ages').textContent.includes('风险区域')")  # with its age
    cp.reload()
    for n, plate in enumerate(("甘A10001", "甘A10002", "甘A10003")):
        cp.fill("input[name=plate]", plate)
        cp.fill("input[name='people.0.name']", f"离线{n}")
        cp.fill("input[name='people.0.id_number']", "11010519491231002X")
        cp.fill("input[name='people.0.temperature_c']", "36.5")
        cp.click("button:has-text('保存登记')")
        cp.wait_for_function(f"document.querySelector('.field-waiting').dataset.count === '{n + 1}'")
    assert "3 条待提交" in cp.inner_text("#field-bar") and "离线" in cp.inner_text("#field-bar")

    st_context.set_offline(True)
    st.reload()
    form = st.locator("form.record").first
    action = form.get_attribute("action")
    follow_up_id = int(re.search(r"/followups/(\d+)", action or "").group(1))  # type: ignore[union-attr]
    form.locator("input[name=temperature_c]").fill("36.6")
    form.locator("button[type=submit]").click()
    st.wait_for_function("document.querySelector('.field-waiting').dataset.count === '1'")
    with db.sessions() as s:  # nothing reached the server while offline
        assert s.execute(select(func.count(Passage.id))).scalar_one() == before
        assert s.get(FollowUp, follow_up_id).done_at is None

    for context, page in ((cp_context, cp), (st_context, st)):
        context.set_offline(False)
        page.wait_for_function("document.querySelector('.field-waiting').dataset.count === '0'", timeout=20000)
        page.evaluate("window.fkField.send()")  # sending again finds nothing left to send
    with db.sessions() as s:
        plates = s.execute(select(Passage.plate).where(Passage.plate.in_(["甘A10001", "甘A10002", "甘A10003"]))
                           ).scalars().all()
        assert sorted(plates) == ["甘A10001", "甘A10002", "甘A10003"]
        assert s.execute(select(func.count(Passage.id))).scalar_one() == before + 3
        done = s.get(FollowUp, follow_up_id)
        assert done.done_at is not None and done.client_id and done.temperature_c == 36.6
    cp_context.close()
    st_context.close()


def test_a_verification_of_a_lead_handed_elsewhere_stays_as_a_conflict(server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, db = server
    context, page = _context(browser, base, "station")
    token = page.request.post(base + "/api/v1/auth/token", data={"username": "command", "password": DEMO_PASSWORD})
    auth = {"Authorization": "Bearer " + token.json()["access_token"]}
    pushed = page.request.post(base + "/api/v1/leads/batches", headers=auth, data={
        "source": "离线测试", "leads": [{"name": "离线核查", "phone": "13912340009",
                                        "current_address": "兰州市城关区酒泉路街道庆阳路1号"}]}).json()
    lead_id = pushed["lead_ids"][0]
    _controlled(page, f"{base}/leads/{lead_id}")
    context.set_offline(True)
    page.reload()
    form = page.locator("form[data-offline=verification]").first
    leg_url = form.get_attribute("action")
    form.locator("input[name=outcome][value=found]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_function("document.querySelector('.field-waiting').dataset.count === '1'")
    # Meanwhile, at the station, the lead is handed to another station.
    with db.sessions() as s:
        other = s.execute(select(User.unit_id).where(User.username == "station2")).scalar_one_or_none()
    moved = page.request.post(base + "/api/v1" + (leg_url or ""), headers=_station_auth(page, base),
                              data={"outcome": "elsewhere", **({"new_unit_id": other} if other else
                                                               {"new_address": "兰州市七里河区西园街道建西东路5号"})})
    assert moved.status == 200, moved.text()
    context.set_offline(False)
    page.wait_for_selector(".field-conflicts li", timeout=20000)
    text = page.inner_text(".field-conflicts")
    assert "已转交其他单位" in text and "离线核查" in text
    assert page.evaluate("window.fkField.all().then(items => items.length)") == 1  # kept, not lost
    page.click(".field-conflicts button")
    page.wait_for_function("document.querySelectorAll('.field-conflicts li').length === 0")
    context.close()


def _observe_one(browser, base: str, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Put one person of the station under observation (the small demo city may have none today)."""
    with db.sessions() as s:
        unit_id = s.execute(select(User.unit_id).where(User.username == "station")).scalar_one()
        taken = select(RiskStatus.person_id)
        person = s.execute(select(Person.id).where(Person.unit_id == unit_id, Person.id.not_in(taken))
                           .order_by(Person.id.desc()).limit(1)).scalar_one()
    context = browser.new_context()
    page = context.new_page()
    exposure = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    r = page.request.post(f"{base}/api/v1/persons/{person}/status", headers=_station_auth(page, base),
                          data={"status": "close_contact", "reason": "流调判定密接", "last_exposure": exposure,
                                "place": "家中"})
    assert r.status == 200, r.text()
    context.close()


def _station_auth(page, base: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = page.request.post(base + "/api/v1/auth/token", data={"username": "station", "password": DEMO_PASSWORD})
    return {"Authorization": "Bearer " + token.json()["access_token"]}


def test_a_self_report_of_38_1_on_a_phone_refers_to_health(server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, db = server
    _observe_one(browser, base, db)
    context, page = _context(browser, base, "station")
    page.goto(base + "/care")
    page.click("a[href^='/care/'] >> nth=0")
    page.click("button:has-text('链接')")
    url = page.inner_text(".url code")
    assert "/r/" in url
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # no locale: Chinese
    person = phone.new_page()
    person.goto(url)
    person.fill("input[name=temperature_c]", "38.1")
    if person.locator("input[name=at_home][value=yes]").count():
        person.check("input[name=at_home][value=yes]")
    person.click("button:has-text('提交填报')")
    person.wait_for_selector(".receipt")
    assert "卫健" in person.inner_text(".receipt")
    assert person.evaluate("document.documentElement.scrollWidth") <= 390
    with db.sessions() as s:
        assert s.execute(select(func.count(Referral.id)).where(Referral.source == "self_report")).scalar_one() >= 1
    phone.close()
    context.close()
