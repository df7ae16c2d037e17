"""The case page at hundreds of close contacts (issue 22), over HTTP on SQLite and PostgreSQL: grouped by place
and time with household repeats collapsed, times past midnight with both dates, filters by unit and place
kept in the URL, paged lists, the graph as laid-out JSON, a confirmation whose station counts are the ones
the dispatch makes, and the dispatch run's progress; all within the page query budget."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import event, func, select

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.models import Unit
from fangkong.leads.models import Lead
from fangkong.tracing.models import Exposure, TraceCase, TraceDispatch
from tests.support import Personas, csrf
from tests.tracing.bigcase import HOUSEHOLD, NIGHTS, BigCase, wait_for_run

BUDGET = 30  # statements per page (tests/web/test_query_counts.py)


def _counted(db, fetch):  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = fetch()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return r, statements


def _heads(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r'<h3 class="group-head">(.*?)</h3>', html, re.S)]


def test_close_contacts_are_grouped_by_place_and_time_with_households_collapsed(big: BigCase, personas: Personas
                                                                                 ) -> None:
    health = personas.browser("health")
    page, rest = health.get(f"/tracing/cases/{big.index}"), health.get(f"/tracing/cases/{big.index}?page=2")
    assert page.status_code == 200 and "第 1 / 2 页" in page.text  # 303 rows, 200 a page
    heads = _heads(page.text) + _heads(rest.text)
    assert sum(h.startswith("张掖路农贸市场") for h in heads) == 2  # the same market on two days: two groups
    household = next(h for h in heads if h.startswith(HOUSEHOLD))
    assert "3 人" in household or "3 contacts" in household  # one row per member, not per night
    rows = re.findall(r'<td class="spans"[^>]*><b>(\d+) ?(?:晚|nights?)</b>', page.text + rest.text)
    assert rows == [str(NIGHTS)] * 3
    ktv = next(h for h in heads if h.startswith("金嗓子KTV"))
    start = datetime.now(LOCAL_TZ).date() - timedelta(days=2)  # the bar's evening
    assert f"{start.month}月{start.day}日 22:10 – " in ktv  # past midnight: both dates
    nxt = start + timedelta(days=1)
    assert f"{nxt.month}月{nxt.day}日 02:30" in ktv
    night = re.search(r"\d+月\d+日 19:\d\d – \d+月\d+日 07:00", page.text + rest.text)
    assert night, "a night at home shows the evening's and the morning's dates"


def test_filters_by_unit_and_place_are_kept_in_the_url(big: BigCase, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    health = personas.browser("health")
    with db.sessions() as s:
        station = s.execute(select(Unit).where(Unit.name == "西园派出所")).scalar_one()
        district = station.parent_id
    page = health.get(f"/tracing/cases/{big.index}?unit={station.id}")
    shown = int(re.search(r"显示 (\d+) 名密接", page.text).group(1))  # type: ignore[union-attr]
    assert shown == big.by_unit[station.id] == 50
    assert all(h.split()[0] != HOUSEHOLD for h in _heads(page.text))  # the case's household lives elsewhere
    assert f'<option value="{station.id}" selected>' in page.text
    assert f'graph.json?unit={station.id}"' in page.text
    whole = health.get(f"/tracing/cases/{big.index}?unit={district}")
    assert int(re.search(r"显示 (\d+) 名密接", whole.text).group(1)) >= shown  # type: ignore[union-attr]
    market = health.get(f"/tracing/cases/{big.index}", params={"place": "东方红广场超市"})
    assert [h.split()[0] for h in _heads(market.text)] == ["东方红广场超市"]
    assert "显示 60 名密接" in market.text
    exposure = re.search(r'action="/tracing/exposures/(\d+)/strike"', page.text).group(1)  # type: ignore[union-attr]
    struck = health.post(f"/tracing/exposures/{exposure}/strike", follow_redirects=False, data={
        "csrf_token": csrf(health), "reason": "流调核实：未到场", "unit": str(station.id)})
    assert struck.status_code == 303
    assert struck.headers["location"] == f"/tracing/cases/{big.index}?unit={station.id}&done=struck"
    nonsense = health.get(f"/tracing/cases/{big.index}?unit=abc&place=" + "x" * 500)
    assert nonsense.status_code == 200  # not a unit: no filter; a place nobody was at: nothing listed


def test_secondary_contacts_are_paged(big: BigCase, personas: Personas) -> None:
    health = personas.browser("health")
    first = health.get(f"/tracing/cases/{big.index}")
    assert "第 1 / 2 页" in first.text or "Page 1 of 2" in first.text
    second = health.get(f"/tracing/cases/{big.index}?spage=2")
    section = second.text.split('id="secondary-contacts"')[1]
    assert section.count('<a href="/people/') == 20  # 120 secondary contacts, 100 a page


def test_pages_stay_within_the_query_budget_at_hundreds_of_contacts(big: BigCase, personas: Personas, db
                                                                     ) -> None:  # type: ignore[no-untyped-def]
    health = personas.browser("health")
    for path in (f"/tracing/cases/{big.index}", f"/tracing/cases/{big.index}/graph.json",
                 f"/tracing/cases/{big.index}/dispatch", f"/tracing/cases/{big.index}/report"):
        r, statements = _counted(db, lambda p=path: health.get(p))
        assert r.status_code == 200, path
        assert len(statements) <= BUDGET, f"{path}: {len(statements)} statements\n" + "\n".join(
            s.split("\n")[0][:120] for s in statements)


def test_graph_json_places_every_contact_once_inside_the_drawing(big: BigCase, personas: Personas) -> None:
    health = personas.browser("health")
    g = health.get(f"/tracing/cases/{big.index}/graph.json").json()
    ids = [n[0] for n in g["nodes"]]
    assert len(ids) == len(set(ids)) == 1 + 303 + 120
    assert g["categories"] == ["病例", "密切接触者", "密接的密接"] and g["labels"] is False  # names on hover only
    assert all(isinstance(n[3], float | int) and isinstance(n[4], float | int) for n in g["nodes"])
    assert {tuple(link) for link in g["links"]} >= {(f"p:{big.index}", f"p:{big.household[0]}")}
    filtered = health.get(f"/tracing/cases/{big.index}/graph.json", params={"place": "东方红广场超市"}).json()
    assert sum(1 for n in filtered["nodes"] if n[2] == 1) == 60


def _destinations(html: str) -> dict[tuple[str, str], int]:
    return {(kind, unit): int(n) for unit, kind, n in
            re.findall(r'<td class="count" data-unit="(\d*)" data-kind="(\w+)">(\d+)</td>', html)}


def test_confirmation_counts_are_the_leads_the_dispatch_makes(big: BigCase, personas: Personas, db
                                                              ) -> None:  # type: ignore[no-untyped-def]
    health = personas.browser("health")
    page = health.get(f"/tracing/cases/{big.index}")
    assert f'href="/tracing/cases/{big.index}/dispatch"' in page.text
    confirm = health.get(f"/tracing/cases/{big.index}/dispatch")
    planned = _destinations(confirm.text)
    assert planned[("skipped", "")] == 4  # no ID number and no phone
    assert planned[("unknown", "")] == 9  # an address no station owns: the manual queue (one of 10 skipped)
    stations = {unit: n for (kind, unit), n in planned.items() if kind == "station"}
    assert len(stations) == 5 and sum(planned.values()) == 3 + 300 + 120  # 酒泉路 holds two streets
    assert "419" in confirm.text  # "419 urgent leads will be dispatched"
    digest = re.search(r'name="digest" value="(\w+)"', confirm.text).group(1)  # type: ignore[union-attr]
    r = health.post(f"/tracing/cases/{big.index}/dispatch", data={"csrf_token": csrf(health), "digest": digest},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/tracing/dispatches/")
    run = wait_for_run(health, r.headers["location"])  # the job runner's "dispatch" lane, after the response
    assert 'data-run-status="done"' in run and "419" in run
    with db.sessions() as s:
        case_id = s.execute(select(TraceCase.id).where(TraceCase.person_id == big.index)).scalar_one()
        made = dict(s.execute(select(Lead.unit_id, func.count(Lead.id)).join(Exposure, Exposure.lead_id == Lead.id)
                              .where(Exposure.case_id == case_id, Lead.status == "dispatched")
                              .group_by(Lead.unit_id)).all())
        batches = s.execute(select(func.count(func.distinct(Lead.batch_id))).join(
            Exposure, Exposure.lead_id == Lead.id).where(Exposure.case_id == case_id)).scalar_one()
        assert s.execute(select(TraceDispatch.status)).scalar_one() == "done"
    assert {str(unit): n for unit, n in made.items()} == stations  # the confirmation told the truth
    assert batches == 1  # written in parts, one batch
    again = health.get(f"/tracing/cases/{big.index}/dispatch")
    assert "没有待派发" in again.text or "No contact waits" in again.text


def test_dispatch_refuses_a_plan_that_changed_since_it_was_confirmed(big: BigCase, personas: Personas) -> None:
    health = personas.browser("health")
    confirm = health.get(f"/tracing/cases/{big.index}/dispatch")
    digest = re.search(r'name="digest" value="(\w+)"', confirm.text).group(1)  # type: ignore[union-attr]
    page = health.get(f"/tracing/cases/{big.index}")
    exposure = re.search(r'action="/tracing/exposures/(\d+)/strike"', page.text).group(1)  # type: ignore[union-attr]
    health.post(f"/tracing/exposures/{exposure}/strike", data={"csrf_token": csrf(health), "reason": "访谈排除"})
    r = health.post(f"/tracing/cases/{big.index}/dispatch", data={"csrf_token": csrf(health), "digest": digest})
    assert r.status_code == 409 and "确认" in r.text


def test_dispatch_progress_is_polled_until_done(big: BigCase, personas: Personas, app, db) -> None:  # type: ignore[no-untyped-def]
    from fangkong.core.context import Actor
    from fangkong.core.models import User
    from fangkong.tracing import dispatch

    with db.unit_of_work() as s:
        user = s.execute(select(User).where(User.username == "health")).scalar_one()
        plan = dispatch.plan_dispatch(s, user, big.index)
        run_id = dispatch.request_run(s, user, big.index, plan.digest, None).id
        actor = Actor(username=user.username, user_id=user.id, role=user.role, unit_id=user.unit_id)
    health = personas.browser("health")
    waiting = health.get(f"/tracing/dispatches/{run_id}", headers={"HX-Request": "true"})
    assert waiting.text.lstrip().startswith('<div id="dispatch-run"')  # the fragment alone
    assert 'hx-trigger="every 1s"' in waiting.text and "<progress" in waiting.text
    case_page = health.get(f"/tracing/cases/{big.index}")
    assert f'hx-get="/tracing/dispatches/{run_id}"' in case_page.text  # the case page shows the run, no button
    twice = health.get(f"/tracing/cases/{big.index}/dispatch")
    assert f'hx-get="/tracing/dispatches/{run_id}"' in twice.text and 'name="digest"' not in twice.text
    dispatch.execute_run(db, run_id, big.index, app.state.settings.protocol_profile, actor)
    done = health.get(f"/tracing/dispatches/{run_id}", headers={"HX-Request": "true"})
    assert 'data-run-status="done"' in done.text and "hx-get" not in done.text
    assert personas.browser("station").get(f"/tracing/dispatches/{run_id}").status_code in (403, 404)


def test_pages_read_in_english_too(big: BigCase, personas: Personas) -> None:
    health = personas.browser("health")
    page = health.get(f"/tracing/cases/{big.index}?lang=en")
    assert "303 close and 120 secondary contacts shown." in page.text
    assert re.search(r"\d+/\d+ 22:10 – \d+/\d+ 02:30", page.text)  # past midnight: both dates
    assert "Core facts <b" in page.text and "Not yet submitted" in page.text  # the report's deadlines
    confirm = health.get(f"/tracing/cases/{big.index}/dispatch")
    assert "419 urgent leads will be dispatched" in confirm.text
    report = health.get(f"/tracing/cases/{big.index}/report")
    assert "Trace report: 甲病例" in report.text and "Close contacts by place and time" in report.text
    listing = health.get("/tracing")
    assert re.search(r"<td>423</td><td><b class=\"warn\">423</b></td>", listing.text)  # contacts, not yet dispatched
