"""Browser smoke test in headless Chromium (Debian's package): log in, search, see the masked ID,
reveal it with a purpose, switch language, and check the layout at phone width.

Skips when Chromium is missing, unless FANGKONG_REQUIRE_BROWSER=1 (set by .ci/run).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from fangkong.app import create_app
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.models import User
from fangkong.demo.build import DEMO_PASSWORD, build_demo
from fangkong.people.models import Person
from tests.conftest import TEST_AUDIT_KEY, make_settings

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    """Skip when Chromium is missing, or fail when FANGKONG_REQUIRE_BROWSER=1 (CI must not skip silently)."""
    if CHROMIUM is None:
        if os.environ.get("FANGKONG_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed and FANGKONG_REQUIRE_BROWSER=1")
        pytest.skip("chromium is not installed (apt-get install chromium fonts-wqy-microhei)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a free local port in a thread; yield its base URL, stop it at the end."""
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    require_chromium()
    root: Path = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'b.db'}"
    upgrade(url)
    settings = make_settings(root, url)
    db = Database(url, audit_key=TEST_AUDIT_KEY)
    build_demo(db, settings, size=200, seed=11)
    with serve(create_app(settings, db)) as base:
        yield base, db
    db.dispose()


@pytest.fixture(scope="module")
def browser(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _station_person(db: Database) -> Person:
    with db.sessions() as s:
        unit_id = s.execute(select(User.unit_id).where(User.username == "station")).scalar_one()
        return s.execute(select(Person).where(Person.unit_id == unit_id).limit(1)).unique().scalar_one()


def test_station_officer_logs_in_searches_and_sees_the_masked_id(server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, db = server
    person = _station_person(db)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", "station")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert "辖区人员档案" in page.content()
    page.fill("input[name=q]", person.phone)
    page.keyboard.press("Enter")
    page.wait_for_url("**/people?q=*")
    page.click(f"text={person.name}")
    masked = page.inner_text("[data-testid=id-number]")
    assert masked == "*" * 14 + person.id_number[-4:]  # area and birth date hidden together (issue 17)
    page.fill("input[name=purpose]", "入户核查")
    page.click("button:has-text(\"显示完整号码\")")
    page.wait_for_load_state()
    page.wait_for_selector(".notice")
    assert page.inner_text("[data-testid=id-number]") == person.id_number
    page.screenshot(path=str(tmp_path / "person.png"), full_page=True)
    page.click("text=English")
    assert "Person files" in page.content()
    page.close()


def test_login_page_fits_a_phone(server, browser) -> None:  # type: ignore[no-untyped-def]
    base, _db = server
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    page.goto(base + "/login")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal scroll at phone width: {width}px"
    page.close()
