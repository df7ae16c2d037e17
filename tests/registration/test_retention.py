"""Retention and the person file: registrations past their period are purged by a command that says what
it removed; until then a person's file shows their arrivals and gatherings."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from fangkong.cli import app as cli
from fangkong.core.audit import AuditEntry
from fangkong.core.db import utcnow
from fangkong.registration.arrivals.models import Arrival
from fangkong.registration.gatherings.models import Gathering, GatheringAttendee
from fangkong.registration.retention import purge_expired
from tests.registration.test_arrivals import _reference, _send
from tests.registration.test_gatherings import _register, _token


def _mine(s) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    arrivals = s.execute(select(func.count(Arrival.id)).where(Arrival.phone == "13912345678")).scalar_one()
    gatherings = s.execute(select(func.count(Gathering.id)).where(Gathering.organiser_phone == "13811112222")
                           ).scalar_one()
    return arrivals, gatherings


def test_registrations_are_kept_for_the_retention_period_then_purged(client, db, settings) -> None:
    _reference(_send(client))
    _token(_register(client))
    with db.unit_of_work() as s:
        # the demo city's own registrations (some from days ago) may go first: only ours are checked here
        purge_expired(s, utcnow() + timedelta(days=settings.registration_retention_days - 1))
        assert _mine(s) == (1, 1)
    with db.unit_of_work() as s:
        gone = purge_expired(s, utcnow() + timedelta(days=settings.registration_retention_days + 10))
    assert gone.arrivals >= 1 and gone.gatherings >= 1 and gone.attendees >= 2
    with db.sessions() as s:
        assert _mine(s) == (0, 0) and s.query(GatheringAttendee).count() == 0
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "purge")).scalars().first() is not None


def test_the_purge_command_reports_what_it_removed(client, settings, monkeypatch) -> None:
    _reference(_send(client))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(settings.var_dir))
    result = CliRunner().invoke(cli, ["registration", "purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 0 arrivals" in result.output  # nothing is past its period yet


def test_the_person_file_shows_arrivals_and_gatherings(client, personas, db) -> None:
    _reference(_send(client))
    _token(_register(client, **{"attendees.0.phone": "13912345678"}))
    with db.sessions() as s:
        person_id = s.execute(select(Arrival.person_id).where(Arrival.phone == "13912345678")).scalar_one()
    page = personas.browser("station").get(f"/people/{person_id}")
    assert page.status_code == 200 and "来（返）人员信息填报" in page.text and "张李婚宴" in page.text
