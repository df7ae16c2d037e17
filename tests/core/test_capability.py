"""The capability object (issue 14): declarations are validated at start, the app is built from them,
and the defects that hid in the old seams stay fixed."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fangkong.app import create_app
from fangkong.capabilities import CAPABILITIES, platform
from fangkong.checkpoints import passages, service
from fangkong.checkpoints.models import Checkpoint, Passage
from fangkong.checkpoints.writer import passage_writer
from fangkong.core.audit import AuditEntry
from fangkong.core.capability import Capability, CapabilityError, FigureKind, Platform
from fangkong.core.context import Actor
from fangkong.core.models import User
from fangkong.core.web.templating import NavItem
from fangkong.people.models import Person
from tests.support import Personas


def test_the_platform_lists_each_capability_once() -> None:
    plat = platform()
    assert [c.name for c in plat.capabilities] == [c.name for c in CAPABILITIES]
    assert {"people", "leads", "checkpoints", "tracing", "registration", "shell"} <= {c.name for c in CAPABILITIES}


@pytest.mark.parametrize(("bad", "message"), [
    (Capability(name="leads"), "unique"),
    (Capability(name="x", nav=(NavItem("X", "x", frozenset({"command"})),)), "bad path"),
    (Capability(name="x", nav=(NavItem("X", "/x", frozenset({"commander"})),)), "unknown role"),
    (Capability(name="x", permissions={"polic": frozenset({"a"})}), "unknown role"),
    (Capability(name="x", templates=Path("/no/such/folder")), "does not exist"),
    (Capability(name="x", models=("fangkong.no_such_models",)), "cannot be imported"),
    (Capability(name="x", figures=lambda s, w: []), "go together"),
    (Capability(name="x", figures=lambda s, w: [], figure_kinds=(FigureKind("other.count", "N"),)), "start with"),
    (Capability(name="x", start=("not callable",)), "not callable"),  # type: ignore[arg-type]
])
def test_a_bad_declaration_fails_loudly_at_start(bad: Capability, message: str) -> None:
    with pytest.raises(CapabilityError, match=message):
        Platform([*CAPABILITIES, bad])


def test_a_new_capability_plugs_in_routes_nav_tiles_and_figures(settings, db) -> None:  # type: ignore[no-untyped-def]
    from fastapi import APIRouter

    from fangkong.core.capability import DayWindow, Tile

    router = APIRouter()

    @router.get("/extra")
    def extra() -> dict[str, str]:
        return {"ok": "yes"}

    cap = Capability(name="extra", pages=(router,), nav=(NavItem("Extra", "/extra", frozenset({"command"})),),
                     tiles=lambda s, u, st: [Tile(7, "Extra things", "/extra")],
                     figures=lambda s, w: [(1, "extra.things", 3)],
                     figure_kinds=(FigureKind("extra.things", "Things"),))
    plat = Platform([*CAPABILITIES, cap])
    assert plat.figure_kinds["extra.things"].label == "Things"
    from datetime import date

    with db.sessions() as s:
        assert (1, "extra.things", 3) in plat.figures(s, DayWindow(date(2022, 3, 1)))
    import fangkong.app as app_module

    original = app_module.platform
    app_module.platform = lambda: plat  # type: ignore[assignment]
    try:
        app = create_app(settings, db)
    finally:
        app_module.platform = original
    with TestClient(app) as c:
        assert c.get("/extra").json() == {"ok": "yes"}
        browser = Personas(app).browser("command")
        home = browser.get("/")
        assert "Extra things" in home.text or "7" in home.text
        assert 'href="/extra"' in home.text


def test_shutdown_drains_queued_passages(settings, db) -> None:  # type: ignore[no-untyped-def]
    """FastAPI runs no on_shutdown handlers when a lifespan is given: the lifespan's stop hooks drain."""
    app = create_app(settings, db)
    with db.sessions() as s:
        checkpoint = s.execute(select(Checkpoint.id).order_by(Checkpoint.id)).scalars().first()
        officer = s.execute(select(User).where(User.username == "checkpoint")).unique().scalar_one()
        s.expunge(officer)
        before = s.execute(select(func.count(Passage.id))).scalar_one()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    with TestClient(app):
        writer = passage_writer(app)
        slow = writer.write

        def write_slowly(session, rows):  # type: ignore[no-untyped-def]
            time.sleep(0.3)  # the batch is still being written when the server is told to stop
            return slow(session, rows)

        writer.write = write_slowly  # type: ignore[method-assign]
        for n in range(5):
            data = service.PassageInput(client_id=f"drain-{n}", plate="甘A12345", people=[
                service.PersonInput(name="王五", id_number="11010519491231002X", temperature_c=36.5, role="driver")])
            request = passages.PassageRequest(officer, checkpoint, data, Actor(username="tablet"))
            asyncio.run_coroutine_threadsafe(writer.submit(request, timeout=30), loop)
        time.sleep(0.05)
    loop.call_soon_threadsafe(loop.stop)
    with db.sessions() as s:
        assert s.execute(select(func.count(Passage.id))).scalar_one() == before + 5


def test_every_bulk_created_person_file_is_audited(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    leads = [{"name": f"审计{n}", "phone": f"1380000{n:04d}", "current_address": "兰州市城关区酒泉路街道庆阳路1号"}
             for n in range(3)]
    r = client.post("/api/v1/leads/batches", json={"source": "审计测试", "leads": leads},
                    headers=personas.headers("command"))
    assert r.status_code in (200, 201), r.text
    with db.sessions() as s:
        ids = s.execute(select(Person.id).where(Person.name.like("审计%"))).scalars().all()
        assert len(ids) == 3
        audited = s.execute(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "create", AuditEntry.object_type == "persons",
            AuditEntry.object_id.in_([str(i) for i in ids]))).scalar_one()
        lead_rows = s.execute(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "create", AuditEntry.object_type == "leads")).scalar_one()
    assert audited == 3
    assert lead_rows >= 3


def test_acknowledging_an_old_referral_works(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    """The answer used to look the referral up among the newest 500 only: an older one gave a 500."""
    from datetime import UTC, datetime

    from fangkong.observation.models import Referral

    with db.unit_of_work() as s:
        person = s.execute(select(Person.id).limit(1)).scalar_one()
        old = Referral(source="follow_up", person_id=person, at=datetime(2022, 1, 1, tzinfo=UTC), reason="fever")
        s.add(old)
        s.flush()
        old_id = old.id
        s.add_all([Referral(source="follow_up", person_id=person, at=datetime(2022, 2, 1, tzinfo=UTC), reason="x")
                   for _ in range(501)])
    r = client.post(f"/api/v1/referrals/{old_id}/acknowledge", json={"note": "已接收"},
                    headers=personas.headers("health"))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == old_id


def test_a_figure_under_a_key_nobody_declared_fails_the_roll_up(db) -> None:  # type: ignore[no-untyped-def]
    """A capability's figures that yield a key it did not declare (a rename half done) fail loudly instead of
    storing a figure no page shows."""
    from datetime import date

    from fangkong.core.capability import DayWindow

    cap = Capability(name="extra", figures=lambda s, w: [(1, "extra.thing", 1), (1, "extra.thigns", 2)],
                     figure_kinds=(FigureKind("extra.thing", "Things"),))
    with db.sessions() as s, pytest.raises(CapabilityError, match=r"extra\.thigns"):
        Platform([*CAPABILITIES, cap]).figures(s, DayWindow(date(2022, 3, 1)))
