"""The public's side in headless Chromium at phone width: an arrival registered with the receipt code in
view, and the staff's count chart drawn."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from fangkong.demo.build import DEMO_PASSWORD
from tests.browser.test_browser_smoke import browser, server  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.browser


def test_a_resident_registers_an_arrival_on_a_phone_and_sees_the_code(server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, _db = server
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    page.goto(base + "/register/arrival")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    started = time.perf_counter()
    page.fill("input[name=name]", "手机用户")
    page.fill("input[name=doc_number]", "11010519491231002X")
    page.fill("input[name=phone]", "13912340000")
    page.select_option("select[name=origin_code]", "610100")
    page.fill("input[name=departed_on]", (date.today() - timedelta(days=1)).isoformat())
    page.fill("input[name=arrived_on]", date.today().isoformat())
    page.select_option("select[name=transport]", "train")
    page.fill("input[name=transport_number]", "D2687")
    page.fill("input[name=destination_address]", "兰州市城关区酒泉路街道庆阳路5号")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    page.wait_for_url("**/register/arrival/done?ref=*")
    code = page.inner_text("[data-testid=reference]")
    assert len(code) == 11 and code[5] == "-" and time.perf_counter() - started < 5
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.close()


def test_command_sees_the_count_chart(server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, _db = server
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(base + "/login")
    page.fill("input[name=username]", "command")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.goto(base + "/arrivals/counts")
    page.wait_for_selector("[data-chart=flows] canvas")  # drawn by ECharts from the page's JSON
    page.close()


def test_an_organiser_shares_the_link_and_a_guest_signs_in_on_a_phone(server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, _db = server
    organiser = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    organiser.goto(base + "/register/gathering")
    organiser.select_option("select[name=kind]", "funeral")
    organiser.fill("input[name=title]", "赵府丧事")
    organiser.fill("input[name=date]", (date.today() + timedelta(days=1)).isoformat())
    organiser.fill("input[name=start_time]", "09:00")
    organiser.fill("input[name=expected_size]", "60")
    organiser.fill("input[name=address]", "兰州市城关区张掖路街道中山路9号")
    organiser.fill("input[name=organiser_name]", "赵大")
    organiser.fill("input[name=organiser_phone]", "13811117777")
    organiser.click("button[type=submit]")
    organiser.wait_for_url("**/register/gathering/manage/*")
    link = organiser.get_attribute(".share a", "href")
    assert link and "/g/" in link and organiser.is_visible("img.qr")
    guest = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True).new_page()
    guest.goto(link)
    guest.fill("input[name=name]", "钱二")
    guest.fill("input[name=doc_number]", "11010519491231002X")
    guest.fill("input[name=phone]", "13811118888")
    guest.click("button[type=submit]")
    guest.wait_for_selector("text=签到成功")
    assert "赵府丧事" in guest.content() and guest.evaluate("document.documentElement.scrollWidth") <= 375
    organiser.reload()
    assert "钱二" in organiser.content()
    guest.close()
    organiser.close()
