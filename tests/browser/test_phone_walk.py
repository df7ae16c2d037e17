"""Every page of every role at 390×844 (issue 20): no sideways scrolling, no control narrower than its content.

The pages are the route matrix's (tests/web/test_route_matrix.py): every GET route a role may open that answers
with HTML, its path ids filled from objects made the way the matrix makes them. A new page is walked without
anyone adding it here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fangkong.app import create_app
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.demo.build import DEMO_PASSWORD, build_demo
from tests.browser.test_browser_smoke import CHROMIUM, CHROMIUM_ARGS, browser, require_chromium, serve  # noqa: F401  (fixture)
from tests.conftest import DEMO_SEED, DEMO_SIZE, TEST_AUDIT_KEY, make_settings
from tests.support import Personas
from tests.web import test_route_matrix as matrix

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 390, 844
# Not pages: data, files, fragments, scripts (their own tests cover them).
NOT_PAGES = (".json", ".xlsx", ".js", ".webmanifest", "/document", "/healthz", "/api/", "/notifications/count",
             "/command/data", "/screen/data")

MEASURE = """() => {
  const bad = [];
  const ctx = document.createElement('canvas').getContext('2d');
  const scrollsItself = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll('input, select, textarea, button')) {
    if (el.type === 'hidden' || el.offsetParent === null || el.closest('[aria-hidden=true]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const cs = getComputedStyle(el);
    if (cs.opacity === '0' || cs.visibility === 'hidden') continue;
    const name = el.name || el.getAttribute('aria-label') || el.textContent.trim().slice(0, 24) || el.tagName;
    if (r.right > innerWidth + 1 && !scrollsItself(el)) bad.push(name + ': beyond the right edge');
    if (el.tagName === 'SELECT') {
      ctx.font = cs.font;
      const text = el.selectedOptions.length ? el.selectedOptions[0].text : '';
      const need = ctx.measureText(text).width + parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight) + 16;
      if (el.clientWidth < Math.min(need, 160)) bad.push(name + ': ' + el.clientWidth + 'px for "' + text + '"');
    } else if (el.tagName === 'BUTTON' || el.type === 'submit') {
      if (el.scrollWidth > el.clientWidth + 1) bad.push(name + ': text wider than the button');
    } else if (el.type !== 'checkbox' && el.type !== 'radio' && el.clientWidth < 60) {
      bad.push(name + ': ' + el.clientWidth + 'px wide');
    }
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, object]]]:
    require_chromium()
    root: Path = tmp_path_factory.mktemp("walk")
    url = f"sqlite:///{root / 'w.db'}"
    upgrade(url)
    settings = make_settings(root, url)
    db = Database(url, audit_key=TEST_AUDIT_KEY)
    build_demo(db, settings, size=DEMO_SIZE, seed=DEMO_SEED)  # the matrix's objects need the test city
    app = create_app(settings, db)
    ids = matrix.ids.__wrapped__(db, Personas(app))  # type: ignore[attr-defined]
    with serve(app) as base:
        yield base, ids
    db.dispose()


def pages_of(role: str | None) -> list[str]:
    """Return the HTML pages the role may open (None: the public's), from the route matrix."""
    found = []
    for (method, template), (path, allowed) in matrix.MATRIX.items():
        if method != "GET" or any(marker in path for marker in NOT_PAGES) or template in ("/login", "/"):
            continue
        if (allowed == matrix.PUBLIC) == (role is None) and (role is None or role in allowed):
            found.append(path)
    return found


def _walk(page, base: str, paths: list[str], ids: dict[str, object]) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    for path in ["/", *paths]:
        url = base + path.format(**ids)
        kind = page.request.get(url, max_redirects=0).headers.get("content-type", "")
        if not kind.startswith("text/html"):
            continue  # a download (feedback sheets, documents): not a page
        page.goto(url)
        page.wait_for_load_state("load")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            problems.append(f"{path}: scrolls sideways ({scroll}px at {inner}px)")
        problems += [f"{path}: {p}" for p in page.evaluate(MEASURE)]
    return problems


@pytest.mark.parametrize("role", [*matrix.ROLES, None])
def test_every_page_of_the_role_fits_a_phone(server, browser, role: str | None) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, ids = server
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN",
                                  service_workers="block")
    page = context.new_page()
    if role is not None:
        page.goto(base + "/login")
        page.fill("input[name=username]", role)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
    paths = pages_of(role)
    assert paths or role == "auditor" or role == "screen", role
    problems = _walk(page, base, paths, ids)
    context.close()
    assert problems == [], "\n".join(problems)
