"""The pass verification page in headless Chromium with the network cut (issue 18): the service worker keeps
the page, the public keys and the revocation list; the browser checks the Ed25519 signature itself."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from fangkong.demo.build import DEMO_PASSWORD
from fangkong.passes.applications import today
from tests.browser.test_browser_smoke import browser, server  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.browser
PLATE = "甘A54321"


def _issue(base: str) -> dict[str, object]:
    """Apply on a company's behalf and approve, over the API as the district; return the pass."""
    with httpx.Client(base_url=base) as http:
        token = http.post("/api/v1/auth/token", json={"username": "district", "password": DEMO_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        made = http.post("/api/v1/passes/applications", headers=headers, json={
            "company": "兰州鲜达物流", "contact_phone": "13931000009", "address": "兰州市城关区酒泉路街道1号",
            "purpose": "medical_supplies", "route": "G30", "valid_from": today().isoformat(),
            "valid_until": (today() + timedelta(days=3)).isoformat(), "holders": [{"plate": PLATE}]})
        assert made.status_code == 201, made.text
        decided = http.post(f"/api/v1/passes/applications/{made.json()['id']}/decision", headers=headers,
                            json={"approve": True})
        found = decided.json()["passes"][0]
        found["headers"] = headers
        return found


def _wait_for_service_worker(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the service worker is installed and controls the page (the page, its assets and the two
    documents are then kept). Polled from here: wait_for_function would need eval, which the CSP forbids."""
    deadline = time.monotonic() + 20
    while not page.evaluate("navigator.serviceWorker.controller !== null"):
        assert time.monotonic() < deadline, "the service worker did not take control"
        time.sleep(0.2)


def _verify(page, token: str, plate: str = PLATE) -> str:  # type: ignore[no-untyped-def]
    page.fill("#token", token)
    page.fill("#plate", plate)
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("[data-testid=result]:not([hidden])")
    outcome = page.get_attribute("[data-testid=result]", "data-outcome") or ""
    page.evaluate("document.getElementById('result').hidden = true")
    return outcome


def test_a_pass_is_verified_in_the_browser_with_the_network_cut(server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, _db = server
    issued = _issue(base)
    token = str(issued["token"])
    context = browser.new_context(viewport={"width": 800, "height": 900})
    page = context.new_page()
    page.goto(base + "/passes/verify")
    page.wait_for_selector("[data-testid=cache-state][data-ready=online]")
    _wait_for_service_worker(page)

    context.set_offline(True)
    page.goto(base + "/passes/verify")  # served by the service worker
    page.wait_for_selector("[data-testid=cache-state][data-ready=offline]")
    assert _verify(page, token) == "valid"
    assert _verify(page, token, "甘A00001") == "plate_mismatch"
    altered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    assert _verify(page, altered) in ("forged", "malformed")
    assert _verify(page, "not a pass") == "malformed"

    with httpx.Client(base_url=base) as http:  # revoked at the server while the tablet is offline
        revoked = http.post(f"/api/v1/passes/{issued['id']}/revoke", headers=issued["headers"],
                            json={"reason": "测试撤销"})
        assert revoked.status_code == 200
    assert _verify(page, token) == "valid"  # offline: the list kept on the device does not know yet
    context.set_offline(False)
    page.goto(base + "/passes/verify")
    page.wait_for_selector("[data-testid=cache-state][data-ready=online]")
    assert _verify(page, token) == "revoked"
    context.close()


def test_the_qr_code_opens_the_page_with_the_token(server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, _db = server
    issued = _issue(base)
    page = browser.new_page()
    page.goto(f"{base}/passes/verify#{issued['token']}")
    page.wait_for_selector("[data-testid=cache-state][data-ready=online]")
    page.fill("#plate", PLATE)
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("[data-testid=result][data-outcome=valid]")
    page.close()
