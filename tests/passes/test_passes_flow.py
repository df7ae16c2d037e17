"""Green-channel passes end to end over HTTP (issue 18): the public applies, the district approves, the pass
is printed, verified at a checkpoint (green lane, every person still registered), revoked, and refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fangkong.capabilities import platform
from fangkong.checkpoints.models import Passage, PassagePerson
from fangkong.core.audit import AuditEntry
from fangkong.core.capability import DayWindow
from fangkong.passes.applications import today
from fangkong.passes.models import PassVerification
from tests.passes.conftest import (
    DRIVER_ID,
    PLATE,
    application,
    approve,
    first_pass,
    reference_of,
    send_application,
    verify,
)
from tests.support import csrf


def _passage_form(c, token: str, plate: str = PLATE, disposition: str = "passed") -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"csrf_token": csrf(c), "client_id": f"form-{token[-8:]}-{plate}", "plate": plate, "pass_token": token,
            "people.0.name": "王师傅", "people.0.id_number": DRIVER_ID, "people.0.temperature_c": "36.4",
            "people.0.disposition": disposition, "people.0.role": "driver",
            "people.1.name": "押运员", "people.1.id_number": "11010519491231002X", "people.1.temperature_c": "36.6",
            "people.1.disposition": "passed", "people.1.role": "passenger"}


def test_apply_approve_print_verify_green_lane_revoke_refused(client, db, personas, checkpoints) -> None:  # type: ignore[no-untyped-def]
    sent = send_application(client)
    reference = reference_of(sent)
    found = application(db, reference)
    assert found.status == "pending" and found.document_sha256 and found.contact_phone == "13931000001"
    status = client.post("/passes/status", data={"reference": reference, "phone": "13931000001",
                                                 "csrf_token": csrf(client)})
    assert status.status_code == 200 and 'data-testid="status"' in status.text

    district = personas.browser("district")
    assert reference[:5] in district.get("/passes?state=pending").text
    assert district.get(f"/passes/applications/{found.id}/document").content.startswith(b"%PDF")
    assert approve(personas, found.id).status_code == 303
    issued = first_pass(db, found.id)
    assert issued.plate == PLATE and issued.token and issued.key_id and issued.holder_id_number == DRIVER_ID

    printed = district.get(f"/passes/{issued.id}/print")
    assert printed.status_code == 200 and "data:image/svg+xml" in printed.text and PLATE in printed.text
    phone_view = client.post("/passes/status", data={"reference": reference, "phone": "13931000001",
                                                     "csrf_token": csrf(client)})
    assert "pass-card" in phone_view.text and "data:image/svg+xml" in phone_view.text

    officer = personas.browser("checkpoint")
    saved = officer.post(f"/checkpoints/{checkpoints[0]}/passages", data=_passage_form(officer, issued.token),
                         follow_redirects=False)
    assert saved.status_code == 303, saved.text[:3000]
    with db.sessions() as s:
        people = s.execute(select(PassagePerson.disposition).join(Passage).where(Passage.plate == PLATE)
                           ).scalars().all()
    assert sorted(people) == ["green_lane", "green_lane"]  # every person registered, and in the green lane

    revoked = district.post(f"/passes/{issued.id}/revoke", follow_redirects=False,
                            data={"reason": "车辆转作他用", "csrf_token": csrf(district)})
    assert revoked.status_code == 303
    assert issued.id in client.get("/passes/revoked.json").json()["revoked"]
    answer = verify(personas, checkpoints[0], issued.token)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "revoked" and not answer.json()["green_lane"]
    assert answer.json()["message"] == "This pass was revoked."
    refused = officer.post(f"/checkpoints/{checkpoints[0]}/passages?lang=en",
                           data=_passage_form(officer, issued.token, disposition="passed"))
    assert refused.status_code == 422 and "This pass was revoked." in refused.text

    with db.sessions() as s:
        outcomes = s.execute(select(PassVerification.outcome).order_by(PassVerification.id)).scalars().all()
        rows = platform().figures(s, DayWindow(today()))
        audited = s.execute(select(AuditEntry.action).where(AuditEntry.object_type == "passes")).scalars().all()
    assert outcomes == ["valid", "revoked", "revoked"]
    assert {key for _unit, key, _n in rows} >= {"passes.issued", "passes.verified", "passes.refused"}
    assert {"verify", "revoke"} <= set(audited)


def test_a_typed_pass_number_is_checked_online(issued, personas, checkpoints) -> None:  # type: ignore[no-untyped-def]
    answer = verify(personas, checkpoints[0], str(issued.id)).json()
    assert answer["outcome"] == "valid" and answer["green_lane"] and answer["subject"] == PLATE


def test_another_plate_is_refused_and_named(issued, personas, checkpoints) -> None:  # type: ignore[no-untyped-def]
    answer = verify(personas, checkpoints[0], issued.token, plate="甘A99999").json()
    assert answer["outcome"] == "plate_mismatch" and PLATE in answer["message"]


def test_a_pass_used_at_two_checkpoints_in_an_impossible_time_is_flagged(issued, personas, checkpoints) -> None:  # type: ignore[no-untyped-def]
    assert verify(personas, checkpoints[0], issued.token).json()["green_lane"]
    second = verify(personas, checkpoints[1], issued.token).json()
    assert second["outcome"] == "valid" and second["flagged"] and not second["green_lane"]
    # far apart by position: 36.05N 103.8E (Lanzhou) then 39.9N 116.4E (Beijing) within minutes
    far = verify(personas, checkpoints[0], issued.token, latitude=39.9, longitude=116.4).json()
    assert far["flagged"]


def test_green_lane_needs_a_verified_pass(issued, personas, checkpoints) -> None:  # type: ignore[no-untyped-def]
    c, headers = personas.browser("checkpoint"), personas.headers("checkpoint")
    body = {"client_id": "gl-1", "plate": PLATE, "people": [
        {"name": "王师傅", "id_number": DRIVER_ID, "temperature_c": 36.5, "disposition": "green_lane",
         "role": "driver"}]}
    refused = c.post(f"/api/v1/checkpoints/{checkpoints[0]}/passages", headers=headers, json=body)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "pass_token"
    checked = verify(personas, checkpoints[0], issued.token).json()
    other_checkpoint = c.post(f"/api/v1/checkpoints/{checkpoints[1]}/passages", headers=headers,
                              json={**body, "client_id": "gl-2", "pass_verification_id": checked["verification_id"]})
    assert other_checkpoint.status_code == 422  # verified at the first checkpoint, not this one
    saved = c.post(f"/api/v1/checkpoints/{checkpoints[0]}/passages", headers=headers,
                   json={**body, "client_id": "gl-3", "pass_verification_id": checked["verification_id"]})
    assert saved.status_code == 201 and saved.json()["people"][0]["disposition"] == "green_lane"


def test_counts_per_checkpoint_and_day(issued, personas, checkpoints) -> None:  # type: ignore[no-untyped-def]
    verify(personas, checkpoints[0], issued.token)
    verify(personas, checkpoints[0], issued.token, plate="甘A99999")
    verify(personas, checkpoints[0], "garbage")
    counts = personas.browser("checkpoint").get(f"/api/v1/checkpoints/{checkpoints[0]}/pass-checks",
                                                headers=personas.headers("checkpoint")).json()
    assert (counts["valid"], counts["refused"]) == (1, 2)


def test_refusal_needs_a_reason_and_is_shown_to_the_applicant(client, db, personas) -> None:  # type: ignore[no-untyped-def]
    reference = reference_of(send_application(client, document=None))
    found = application(db, reference)
    c = personas.browser("district")
    no_reason = c.post(f"/passes/applications/{found.id}/decide?lang=en",
                       data={"decision": "refuse", "csrf_token": csrf(c)})
    assert no_reason.status_code == 422 and "Give the reason." in no_reason.text
    c.post(f"/passes/applications/{found.id}/decide", data={"decision": "refuse", "reason": "非保供企业",
                                                            "csrf_token": csrf(c)})
    shown = client.post("/passes/status", data={"reference": reference, "phone": "13931000001",
                                                "csrf_token": csrf(client)})
    assert "非保供企业" in shown.text


def test_bulk_approval_skips_those_decided_already(client, db, personas) -> None:  # type: ignore[no-untyped-def]
    ids = [application(db, reference_of(send_application(client, document=None, **{"holders.0.plate": plate}))).id
           for plate in ("甘A11111", "甘A22222", "甘A33333")]
    headers = personas.headers("district")
    c = personas.browser("district")
    c.post(f"/api/v1/passes/applications/{ids[0]}/decision", headers=headers, json={"approve": False, "reason": "重复"})
    answer = c.post("/api/v1/passes/applications/decisions", headers=headers, json={"ids": ids, "approve": True})
    assert answer.json() == {"decided": ids[1:], "skipped": ids[:1]}
    again = c.post(f"/api/v1/passes/applications/{ids[1]}/decision", headers=headers, json={"approve": True})
    assert again.status_code == 409


def test_an_outsider_unit_sees_no_application(client, db, personas) -> None:  # type: ignore[no-untyped-def]
    found = application(db, reference_of(send_application(client, document=None)))
    assert personas.browser("district").get(f"/passes/applications/{found.id}").status_code == 200
    # the district decides (the setting's default); a station sees only its own subtree, another district nothing
    assert personas.browser("station").get(f"/passes/applications/{found.id}").status_code == 404
    assert personas.browser("station2").get(f"/passes/applications/{found.id}").status_code == 404


def test_approver_home_shows_the_applications_waiting(client, personas) -> None:  # type: ignore[no-untyped-def]
    send_application(client, document=None)
    home = personas.browser("district").get("/?lang=en")
    assert "Pass applications waiting" in home.text


def test_export_writes_formula_like_text_as_text(client, db, personas) -> None:  # type: ignore[no-untyped-def]
    import io

    from openpyxl import load_workbook

    found = application(db, reference_of(send_application(client, document=None, company="=HYPERLINK(\"x\")公司",
                                                          route="+1 路线")))
    approve(personas, found.id)
    data = personas.browser("district").get("/passes/export.xlsx").content
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value.startswith(("=", "+"))]
    assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky)


def test_validity_is_bounded(client) -> None:  # type: ignore[no-untyped-def]
    start = today()
    too_long = send_application(client, document=None, valid_until=(start + timedelta(days=120)).isoformat())
    assert too_long.status_code == 422


def test_purge_deletes_applications_past_retention_and_keeps_the_counts(issued, db, personas, checkpoints) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from fangkong.core.db import utcnow
    from fangkong.passes.models import Pass, PassApplication
    from fangkong.passes.service import purge_expired

    verify(personas, checkpoints[0], issued.token)
    with db.unit_of_work() as s:
        s.execute(update(PassApplication).values(purge_after=utcnow() - timedelta(days=1)))
        assert purge_expired(s) == 1
    with db.sessions() as s:
        assert s.execute(select(Pass.id)).first() is None
        assert s.execute(select(PassVerification.pass_id)).scalars().all() == [None]  # still counted
