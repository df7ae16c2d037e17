"""The case page with 300 close contacts in headless Chromium (issue 22), at 1920 px and at 390 px: nothing
scrolls sideways, the contact graph draws inside its frame (every node within the canvas) with names on
hover, a graph of 10,000 nodes draws without freezing the page, the confirmation lists how many leads go
to which station, the dispatch shows its progress, and the trace report prints on A4.

Screenshots go to $FANGKONG_SCREENSHOTS when it is set (to look at them), else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fangkong.app import create_app
from fangkong.core.context import acting_as
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.models import User
from fangkong.demo.build import DEMO_ACTOR, DEMO_PASSWORD, build_demo
from fangkong.tracing import cases, graph
from tests.browser.test_browser_smoke import CHROMIUM, CHROMIUM_ARGS, browser, require_chromium, serve  # noqa: F401  (fixture)
from tests.conftest import DEMO_SEED, DEMO_SIZE, TEST_AUDIT_KEY, make_settings
from tests.tracing.bigcase import seed_big_case

pytestmark = pytest.mark.browser

# Inside the chart's frame: the canvas, and every node's centre as ECharts places it.
GRAPH_FIT = """(el) => {
  const chart = echarts.getInstanceByDom(el);
  const frame = el.getBoundingClientRect();
  const canvas = el.querySelector('canvas').getBoundingClientRect();
  const data = chart.getModel().getSeriesByIndex(0).getData();
  let outside = 0, minX = 1e9, minY = 1e9, maxX = -1e9, maxY = -1e9;
  for (let i = 0; i < data.count(); i++) {
    const p = chart.convertToPixel({seriesIndex: 0}, [data.getItemModel(i).get('x'), data.getItemModel(i).get('y')]);
    minX = Math.min(minX, p[0]); maxX = Math.max(maxX, p[0]); minY = Math.min(minY, p[1]); maxY = Math.max(maxY, p[1]);
    if (p[0] < 0 || p[1] < 0 || p[0] > frame.width || p[1] > frame.height) outside++;
  }
  return {nodes: data.count(), outside, frame: [frame.left, frame.right, frame.width, frame.height],
          canvas: [canvas.left, canvas.right, canvas.width, canvas.height], box: [minX, minY, maxX, maxY],
          viewport: window.innerWidth, labels: chart.getOption().series[0].label.show,
          hoverLabels: chart.getOption().series[0].emphasis.label.show};
}"""


NEXT_FRAMES = """() => new Promise(done => { const t = performance.now();
  requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t))); })"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    require_chromium()
    root: Path = tmp_path_factory.mktemp("case")
    url = f"sqlite:///{root / 'c.db'}"
    upgrade(url)
    settings = make_settings(root, url)
    db = Database(url, audit_key=TEST_AUDIT_KEY)
    build_demo(db, settings, size=DEMO_SIZE, seed=DEMO_SEED)
    app = create_app(settings, db)
    big = seed_big_case(db, app.state.presence.store)
    with acting_as(DEMO_ACTOR), db.unit_of_work() as s:
        health = s.execute(select(User).where(User.username == "health")).scalar_one()
        cases.run_trace(s, health, big.index, big.onset, None, app.state.presence, settings.protocol_profile)
    with serve(app) as base:
        yield base, big.index
    db.dispose()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("FANGKONG_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser, base: str, width: int, height: int):  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  service_workers="block")
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", "health")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return context, page


def _sideways(page) -> int:  # type: ignore[no-untyped-def]
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return scroll - inner


DRAWN = """() => { const el = document.querySelector('[data-chart="contacts"]');
  const c = el && window.echarts && echarts.getInstanceByDom(el);
  const o = c && c.getOption();
  return o && o.series && o.series.length; }"""


def _drawn(page) -> dict:  # type: ignore[no-untyped-def]
    page.wait_for_function(DRAWN, timeout=20_000)
    return page.eval_on_selector('[data-chart="contacts"]', GRAPH_FIT)


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (390, 844)])
def test_case_page_with_300_contacts_fits_and_its_graph_fits_its_frame(server, browser, shots, width: int,  # noqa: F811
                                                                        height: int) -> None:
    base, person = server
    context, page = _page(browser, base, width, height)
    page.goto(f"{base}/tracing/cases/{person}")
    fit = _drawn(page)
    assert fit["nodes"] == 1 + 303 + 120
    assert fit["outside"] == 0, fit  # every node inside the frame
    left, right, frame_width, _height = fit["frame"]
    assert fit["canvas"][2] <= frame_width + 1 and fit["canvas"][0] >= left - 1 and right <= fit["viewport"], fit
    assert fit["labels"] is False and fit["hoverLabels"] is True  # 424 names: shown on hover
    page.eval_on_selector('[data-chart="contacts"]', """(el) => echarts.getInstanceByDom(el)
        .dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 1})""")
    page.wait_for_timeout(300)
    tip = page.evaluate("""() => [...document.querySelectorAll('div')].filter(d => d.style.zIndex === '9999999'
        && d.style.display !== 'none').map(d => d.textContent).join(' ')""")
    assert "密切接触者" in tip  # the node's name and what it is
    assert _sideways(page) <= 0, "the case page scrolls sideways"
    assert page.locator("h3.group-head").count() >= 4  # the first page of 200 rows
    page.screenshot(path=str(shots / f"case-{width}.png"), full_page=False)
    page.locator('[data-chart="contacts"]').screenshot(path=str(shots / f"graph-{width}.png"))
    page.locator("#contact-filters").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"case-{width}-contacts.png"), full_page=False)
    page.select_option("select[name=place]", "金嗓子KTV")
    page.click("#contact-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*place=.*"))
    assert "place=%E9%87%91" in page.url  # the filter is in the URL
    fit = _drawn(page)
    assert fit["outside"] == 0 and page.locator("h3.group-head").count() == 1
    heading = page.locator("h3.group-head").inner_text()
    assert re.search(r"\d+月\d+日 22:10 – \d+月\d+日 02:30", heading), heading  # past midnight: both dates
    page.locator("#close-contacts").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"case-{width}-filtered.png"), full_page=False)
    page.goto(f"{base}/tracing/cases/{person}/dispatch")
    rows = page.locator("table.destinations tbody tr")
    assert rows.count() == 7  # five stations, the manual queue, the ones without an ID number
    assert page.locator('td.count[data-kind="station"]').count() == 5
    assert _sideways(page) <= 0
    page.screenshot(path=str(shots / f"confirm-{width}.png"), full_page=True)
    context.close()


def test_a_graph_of_10000_nodes_draws_without_freezing_the_page(server, browser, shots) -> None:  # noqa: F811
    base, person = server
    close = [(f"c{i}", f"密接{i}") for i in range(300)]
    secondary = [(f"s{j}", f"次密接{j}", f"c{j % 300}") for j in range(9_700)]
    nodes = graph.layout(("index", "病例"), close, secondary)
    body = {"categories": ["病例", "密切接触者", "密接的密接"], "labels": False, "sizes": [24, 8, 4],
            "nodes": [[n.id, n.name, n.category, round(n.x, 1), round(n.y, 1)] for n in nodes],
            "links": [["index", c] for c, _ in close] + [[v, s] for s, _, v in secondary]}
    context, page = _page(browser, base, 1920, 1080)
    page.route("**/graph.json*", lambda route: route.fulfill(status=200, content_type="application/json",
                                                              body=json.dumps(body, ensure_ascii=False)))
    started = time.monotonic()
    page.goto(f"{base}/tracing/cases/{person}")
    fit = _drawn(page)
    drawn = time.monotonic() - started
    assert fit["nodes"] == 10_001 and fit["outside"] == 0
    frame = page.locator('[data-chart="contacts"]')
    frame.scroll_into_view_if_needed()
    lag = page.evaluate(NEXT_FRAMES)
    box = frame.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)  # zoom in: it still answers
    zoom = page.evaluate(NEXT_FRAMES)
    zoomed = page.eval_on_selector('[data-chart="contacts"]',
                                   "(el) => echarts.getInstanceByDom(el).getOption().series[0].zoom")
    frame.screenshot(path=str(shots / "graph-10000.png"))
    context.close()
    print(f"10,000 nodes: page and graph in {drawn:.2f} s, next frames {lag:.0f} ms, after zoom {zoom:.0f} ms")
    assert drawn < 15, f"drawing 10,000 nodes took {drawn:.1f} s"
    assert lag < 1000 and zoom < 2000, (lag, zoom)  # the page keeps painting: frames within a second or two
    assert zoomed > 1


def test_dispatch_shows_progress_then_the_report_prints(server, browser, shots) -> None:  # noqa: F811
    base, person = server
    context, page = _page(browser, base, 1920, 1080)
    page.goto(f"{base}/tracing/cases/{person}")
    page.click("#dispatch-check")
    page.wait_for_url(re.compile(r".*/dispatch$"))
    assert "419" in page.locator("#confirm-dispatch button.primary").inner_text()
    page.click("#confirm-dispatch button.primary")
    page.wait_for_url(re.compile(r".*/tracing/dispatches/\d+$"))
    page.screenshot(path=str(shots / "dispatch-progress.png"), full_page=False)
    status = page.locator("#dispatch-run").get_attribute("data-run-status")
    assert status in ("queued", "running", "done")
    page.wait_for_selector('#dispatch-run[data-run-status="done"]', timeout=60_000)  # polled, no reload
    assert "419" in page.locator("#dispatch-run").inner_text()
    page.screenshot(path=str(shots / "dispatch-done.png"), full_page=False)
    page.goto(f"{base}/tracing/cases/{person}/report")
    assert _sideways(page) <= 0
    page.screenshot(path=str(shots / "report.png"), full_page=False)
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden() and page.locator("details.reveal-report").is_hidden()
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (shots / "report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2  # A4 pages
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi: the first printed page, roughly
    page.screenshot(path=str(shots / "report-print.png"), full_page=False)
    context.close()
