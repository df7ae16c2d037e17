"""A refused form comes back in the unit of work that refused it (core.web.work.submit_form): one transaction
for the use case and the page shown again, and nothing the use case wrote before it found the problem kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from fangkong.core.audit import AuditEntry
from fangkong.core.db import Database
from fangkong.people.models import MatchPair
from tests.support import Personas, csrf
from tests.web import test_route_matrix as matrix
from tests.web.test_route_matrix import MATRIX, PUBLIC, _concrete

ids = matrix.ids  # the route matrix's objects: a lead with its police leg, a passage, a care team …


@contextmanager
def transactions(db: Database) -> Iterator[list[Any]]:
    """Collect the transactions begun on the database meanwhile (savepoints are not transactions)."""
    begun: list[Any] = []

    def count(conn: Any) -> None:
        begun.append(conn)

    event.listen(db.engine, "begin", count)
    try:
        yield begun
    finally:
        event.remove(db.engine, "begin", count)


def _pair(db: Database, personas: Personas, person_id: int) -> int:
    made = personas.browser("station").post("/api/v1/persons", headers=personas.headers("station"), json={
        "name": "待审重复", "doc_type": "passport", "doc_number": "E76543210"})
    assert made.status_code == 201, made.text
    with db.sessions() as s, s.begin():
        pair = MatchPair(left_id=person_id, right_id=made.json()["id"], score=8.0, reasons="name_exact")
        s.add(pair)
        s.flush()
        return pair.id


def test_a_merge_refused_for_its_reason_leaves_the_pair_to_decide(personas: Personas, db: Database,
                                                                   ids: dict[str, Any]) -> None:
    # accept_pair marks the pair merged (an UPDATE) before merge_persons finds the reason missing: the
    # refusal must take the mark back, or the pair leaves the queue with no merge done.
    pair_id = _pair(db, personas, ids["own_person"])
    c = personas.browser("station")
    refused = c.post(f"/people/review/{pair_id}", data={"csrf_token": csrf(c), "action": "accept", "reason": ""})
    assert refused.status_code == 422
    assert f'data-testid="pair-{pair_id}"' in refused.text  # the queue shown again still offers the pair
    with db.sessions() as s:
        assert s.get_one(MatchPair, pair_id).status == "pending"
    merged = c.post(f"/people/review/{pair_id}", data={"csrf_token": csrf(c), "action": "accept",
                                                       "reason": "同一人，证件号一致"}, follow_redirects=False)
    assert merged.status_code == 303
    with db.sessions() as s:
        assert s.get_one(MatchPair, pair_id).status == "merged"


def _link_reads(db: Database) -> int:
    with db.sessions() as s:
        return s.execute(select(func.count(AuditEntry.id)).where(AuditEntry.action == "read",
                                                                 AuditEntry.object_type == "self_report_links")
                         ).scalar_one()


def test_a_refused_self_report_audits_only_the_page_shown_again(app: FastAPI, db: Database,
                                                                 ids: dict[str, Any]) -> None:
    # submit_report reads (and audits) the link before it checks the temperature, and the form shown again
    # reads it once more: the person saw one page, so the audit log must hold one read, not two.
    public = TestClient(app, base_url="http://testserver")
    before = _link_reads(db)
    r = public.post(f"/r/{ids['self_report_token']}", data={"csrf_token": csrf(public), "temperature_c": "45",
                                                            "at_home": "yes", "nonce": "n" * 22})
    assert r.status_code == 422
    assert _link_reads(db) == before + 1


# Every form shown again when its use case refuses a field (the routes whose page calls submit_form or
# submit_public_form), posted so that it is refused: (role or PUBLIC, route, fields).
REFUSED = [
    ("checkpoint", "/checkpoints/{checkpoint_id}/passages", {"client_id": "refused-1"}),
    ("checkpoint", "/passages/{passage_id}", {}),
    ("command", "/checkpoints-admin/new", {}),
    ("command", "/checkpoints-admin/{checkpoint_id}", {}),
    ("command", "/risk-areas", {}),
    ("admin", "/admin/units/new", {}),
    ("admin", "/admin/units/{unit_id}", {}),
    ("admin", "/admin/users/new", {}),
    ("admin", "/admin/users/{user_id}", {}),
    ("station", "/leads/{lead_id}/legs/{leg_id}/forward", {}),
    ("station", "/leads/{lead_id}/legs/{leg_id}/verify", {}),
    ("community", "/followups/{follow_up_id}", {"temperature_c": "45"}),
    ("station", "/care/{observation_id}/members", {}),
    ("station", "/people/{person_id}/status", {"status": "close_contact", "reason": ""}),
    ("station", "/passes/applications/{application_id}/decide", {"decision": "refuse"}),
    ("station", "/people/new", {}),
    ("station", "/people/review/{pair_id}", {"action": "accept", "reason": ""}),
    ("station", "/people/{person_id}/merge", {}),
    ("command", "/people/{person_id}/reveal", {"purpose": ""}),
    ("station", "/venues/new", {}),
    ("station", "/venues/{venue_id}/edit", {}),
    ("station", "/venues/{venue_id}/inspections", {}),
    (PUBLIC, "/r/{token}", {"temperature_c": "45", "at_home": "yes", "nonce": "n" * 22}),
    (PUBLIC, "/register/gathering/manage/{token}/attendees", {}),
    (PUBLIC, "/g/{token}", {}),
]


def _posts(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if hasattr(route, "original_router"):  # an included router
            yield from _posts(route.original_router.routes)
        elif isinstance(route, APIRoute) and "POST" in route.methods:
            yield route


def test_every_form_shown_again_in_its_unit_of_work_is_refused_here(app: FastAPI) -> None:
    shown_again = {route.path for route in _posts(app.routes)
                   if {"submit_form", "submit_public_form"} & set(route.endpoint.__code__.co_names)}
    assert shown_again == {route for _role, route, _fields in REFUSED}


def test_a_refused_form_costs_one_transaction(app: FastAPI, personas: Personas, db: Database,
                                              ids: dict[str, Any]) -> None:
    # Authentication, the use case and the form shown again (with the bell's unread count) in one; each used
    # to cost two or three.
    clients: dict[str, TestClient] = {}
    answers = []
    for role, route, fields in REFUSED:
        if role not in clients:
            clients[role] = TestClient(app, base_url="http://testserver") if role == PUBLIC else personas.browser(role)
        c = clients[role]
        token = csrf(c)
        with transactions(db) as begun:
            r = c.post(_concrete(MATRIX["POST", route][0], ids), data={"csrf_token": token, **fields},
                       follow_redirects=False)
        answers.append((route, r.status_code, len(begun)))
    assert [a for a in answers if a[1:] != (422, 1)] == []


def test_a_refused_sheet_preview_costs_one_transaction(personas: Personas, db: Database, ids: dict[str, Any]) -> None:
    # The preview runs off the event loop (checkpoints.web._import_preview): not among the routes above.
    c = personas.browser("checkpoint")
    token = csrf(c)
    with transactions(db) as begun:
        r = c.post(f"/checkpoints/{ids['checkpoint']}/import", data={"csrf_token": token},
                   files={"file": ("passages.csv", "车牌号\n".encode(), "text/csv")})
    assert (r.status_code, len(begun)) == (422, 1)
