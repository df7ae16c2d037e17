"""Rules worth testing on their own: the public forms' rate limit, reference codes, scripted input, and
which risk status an arrival gets under which protocol profile and risk level."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from fangkong.app import create_app
from fangkong.core.ratelimit import TokenBucket
from fangkong.leads.models import Lead
from fangkong.people.models import RiskStatus
from fangkong.registration import inputs
from fangkong.registration.arrivals.models import Arrival
from tests.registration.test_arrivals import _reference, _send


def test_the_public_forms_allow_their_limit_at_once_then_the_window_rate_per_key() -> None:
    now = [0.0]
    forms = TokenBucket.per_window(2, 60, clock=lambda: now[0])
    assert [forms.take("a"), forms.take("a")] == [0, 0]
    assert forms.take("a") == 30 and forms.take("b") == 0  # another client is not held back
    now[0] = 29.9
    assert forms.take("a") > 0
    now[0] = 30.0
    assert forms.take("a") == 0  # one form per 30 s: 2 per minute in the long run
    now[0] = 1000.0
    assert [forms.take("a") for _ in range(3)] == [0, 0, 30]  # an idle client's burst is the limit, no more


def test_a_scaled_key_gets_that_many_times_the_limit() -> None:
    """Wedding guests on the venue's Wi-Fi share one address: the sign-in form's factor widens its bucket."""
    forms = TokenBucket.per_window(2, 60, clock=lambda: 0.0)
    assert [forms.take("guests", 3) for _ in range(6)] == [0] * 6 and forms.take("guests", 3) > 0
    assert forms.take("other") == 0


def test_reference_codes_are_read_back_however_they_are_typed() -> None:
    code = inputs.new_reference()
    assert len(code) == 10 and set(code) <= set(inputs.ALPHABET) and not set(code) & set("01OIL")
    assert inputs.normalise_reference(f" {inputs.show_reference(code).lower()} ") == code
    assert inputs.normalise_reference(code[:9] + "O") == "" and inputs.normalise_reference("x" * 11) == ""


def test_scripted_and_invisible_input_is_refused_plain_text_kept() -> None:
    for bad in ("<b>x</b>", "javascript:alert(1)", "a onclick = b", "王\u200b五", "x\x00y"):
        errors: list = []
        assert inputs.clean_text(errors, "f", bad, 50) is None and errors[0].message == inputs.SCRIPTED, bad
    errors = []
    assert inputs.clean_text(errors, "f", "  兰州市  城关区 (3号楼)  ", 50) == "兰州市 城关区 (3号楼)" and not errors


def test_a_medium_risk_area_gives_arrival_medium_and_a_normal_lead(client, personas, db) -> None:
    added = personas.browser("command").post("/api/v1/risk-areas", headers=personas.headers("command"),
                                             json={"area_code": "610113", "level": "medium"})
    assert added.status_code == 201, added.text
    code = _reference(_send(client, origin_code="610100", phone="13600006666"))
    with db.sessions() as s:
        arrival = s.execute(select(Arrival).where(Arrival.reference == code)).scalar_one()
        assert (arrival.risk_level, arrival.status_set) == ("medium", "arrival_medium")
        assert s.get(Lead, arrival.lead_id).priority == "normal"


def test_a_profile_without_an_arrival_observation_gives_a_lead_but_no_status(settings, db) -> None:
    app = create_app(settings.model_copy(update={"protocol_profile": "edition-8"}), db)
    with TestClient(app) as c:
        code = _reference(_send(c, origin_code="420100", phone="13600007777"))
    with db.sessions() as s:
        arrival = s.execute(select(Arrival).where(Arrival.reference == code)).scalar_one()
        assert arrival.risk_level == "high" and arrival.lead_id is not None and arrival.status_set is None
        assert s.execute(select(RiskStatus).where(RiskStatus.person_id == arrival.person_id)).first() is None
