"""Helpers for the pass tests: a public application sent over HTTP, its approval, the demo checkpoint."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fangkong.checkpoints.models import Checkpoint
from fangkong.passes.applications import today
from fangkong.passes.models import Pass, PassApplication
from tests.support import Personas, csrf

JIUQUAN = "兰州市城关区酒泉路街道庆阳路12号"  # the `station` persona's street, in the `district` persona's district
PLATE = "甘A12345"
DRIVER_ID = "11010519491231002X"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def application_form(**over: Any) -> dict[str, Any]:
    start = today()
    body = {"company": "兰州鲜达物流有限公司", "contact_phone": "139 3100 0001", "address": JIUQUAN,
            "purpose": "medical_supplies", "route": "G30 柳沟河 → 城关区 → 兰大一院",
            "valid_from": start.isoformat(), "valid_until": (start + timedelta(days=6)).isoformat(),
            "kind": "vehicle", "holders.0.plate": "甘a·12345", "holders.0.name": "王师傅",
            "holders.0.id_number": DRIVER_ID, "consent": "yes"}
    body.update(over)
    return body


def send_application(client, document: bytes | None = PDF, **over: Any):  # type: ignore[no-untyped-def]
    files = {"document": ("证明.pdf", document, "application/pdf")} if document is not None else None
    return client.post("/passes/apply", data={**application_form(**over), "csrf_token": csrf(client)}, files=files,
                       follow_redirects=False)


def reference_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"].split("ref=")[1]


def application(db, reference: str) -> PassApplication:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(PassApplication).where(PassApplication.reference == reference)).scalar_one()


def first_pass(db, application_id: int) -> Pass:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(Pass).where(Pass.application_id == application_id).order_by(Pass.id)).scalars().first()


def approve(personas: Personas, application_id: int, username: str = "district", **over: Any):  # type: ignore[no-untyped-def]
    c = personas.browser(username)
    return c.post(f"/passes/applications/{application_id}/decide",
                  data={"decision": "approve", "csrf_token": csrf(c), **over}, follow_redirects=False)


@pytest.fixture
def checkpoints(db) -> list[int]:  # type: ignore[no-untyped-def]
    """The demo's two checkpoints (the `checkpoint` persona is posted to both)."""
    with db.sessions() as s:
        return list(s.execute(select(Checkpoint.id).order_by(Checkpoint.id)).scalars())


@pytest.fixture
def issued(client, db, personas) -> Pass:  # type: ignore[no-untyped-def]
    """A vehicle pass applied for by the public and approved by the district."""
    found = application(db, reference_of(send_application(client)))
    assert approve(personas, found.id).status_code == 303
    return first_pass(db, found.id)


def verify(personas: Personas, checkpoint_id: int, token: str, plate: str = PLATE, **extra: Any):  # type: ignore[no-untyped-def]
    headers = {**personas.headers("checkpoint"), "Accept-Language": "en"}
    return personas.browser("checkpoint").post("/api/v1/passes/verify", headers=headers, json={
        "checkpoint_id": checkpoint_id, "token": token, "plate": plate, **extra})
