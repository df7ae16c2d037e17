"""Bad input gets a clear error: problem JSON on the API, a message in the user's language on pages."""

from __future__ import annotations

from datetime import timedelta

from fangkong.passes.applications import today
from tests.passes.conftest import send_application
from tests.support import csrf

API_BODY = {"company": "鲜达物流", "contact_phone": "13931000001", "address": "兰州市城关区酒泉路街道1号",
            "purpose": "daily_supplies", "route": "G30", "kind": "vehicle",
            "holders": [{"plate": "甘A12345", "name": "王师傅"}]}


def _api(personas, **over):  # type: ignore[no-untyped-def]
    start = today()
    body = {**API_BODY, "valid_from": start.isoformat(), "valid_until": (start + timedelta(days=3)).isoformat(),
            **over}
    return personas.browser("district").post("/api/v1/passes/applications", json=body,
                                             headers={**personas.headers("district"), "Accept-Language": "en"})


def test_the_api_files_an_application_for_a_company(personas) -> None:  # type: ignore[no-untyped-def]
    made = _api(personas)
    assert made.status_code == 201 and made.json()["status"] == "pending"


def test_a_bad_plate_is_a_problem_naming_the_field(personas) -> None:  # type: ignore[no-untyped-def]
    answer = _api(personas, holders=[{"plate": "XYZ123", "name": "王"}])
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    error = answer.json()["errors"][0]
    assert error["field"] == "holders.0.plate" and "province abbreviation" in error["message"]


def test_validity_ending_before_it_starts_is_refused(personas) -> None:  # type: ignore[no-untyped-def]
    start = today() + timedelta(days=5)
    answer = _api(personas, valid_from=start.isoformat(), valid_until=(start - timedelta(days=2)).isoformat())
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "valid_until", "message": "The validity cannot end before it starts."}]


def test_a_decision_ending_before_it_starts_is_refused(personas) -> None:  # type: ignore[no-untyped-def]
    made = _api(personas).json()
    start = today()
    answer = personas.browser("district").post(
        f"/api/v1/passes/applications/{made['id']}/decision", headers=personas.headers("district"),
        json={"approve": True, "valid_from": start.isoformat(), "valid_until": (start - timedelta(days=1)).isoformat()})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "valid_until"


def test_the_public_form_says_what_is_wrong_in_the_users_language(client) -> None:  # type: ignore[no-untyped-def]
    start = today()
    client.cookies.set("fk_lang", "en")
    answer = send_application(client, document=None, **{"holders.0.plate": "甘12345",
                                                        "valid_until": (start - timedelta(days=1)).isoformat()})
    assert answer.status_code == 422
    assert "The validity cannot end before it starts." in answer.text and "A plate number is" in answer.text
    client.cookies.set("fk_lang", "zh_CN")
    answer = send_application(client, document=None, **{"valid_until": (start - timedelta(days=1)).isoformat()})
    assert "有效期" in answer.text


def test_a_20_mb_upload_is_refused_with_a_clear_message(client) -> None:  # type: ignore[no-untyped-def]
    client.cookies.set("fk_lang", "en")
    answer = send_application(client, document=b"%PDF-" + b"0" * (20 * 1024 * 1024))
    assert answer.status_code == 413 and "The supporting document is larger than 5 MB." in answer.text


def test_a_document_just_over_the_limit_keeps_the_form(client) -> None:  # type: ignore[no-untyped-def]
    client.cookies.set("fk_lang", "en")
    answer = send_application(client, document=b"%PDF-" + b"0" * (5 * 1024 * 1024))
    assert answer.status_code == 422 and "larger than 5 MB" in answer.text and "兰州鲜达物流有限公司" in answer.text


def test_a_document_that_is_not_a_pdf_or_image_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    client.cookies.set("fk_lang", "en")
    answer = send_application(client, document=b"MZ\x90\x00 an executable")
    assert answer.status_code == 422 and "must be a PDF, JPEG or PNG" in answer.text


def test_the_public_forms_are_rate_limited(client, app) -> None:  # type: ignore[no-untyped-def]
    app.state.settings.registration_rate_limit = 2
    app.state.registration_limiter = None
    codes = [client.post("/passes/status", data={"reference": "ABCDEFGHJK", "phone": "13900000000",
                                                 "csrf_token": csrf(client)}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]
