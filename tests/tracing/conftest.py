"""Fixtures of the tracing tests: the big case (tests/tracing/bigcase.py), seeded and traced."""

from __future__ import annotations

import pytest

from tests.support import Personas
from tests.tracing.bigcase import BigCase, seed_big_case


@pytest.fixture
def big(app, db, personas: Personas) -> BigCase:  # type: ignore[no-untyped-def]
    """The big case seeded and traced (by health, over the API)."""
    case = seed_big_case(db, app.state.presence.store)
    r = personas.browser("health").post(f"/api/v1/tracing/cases/{case.index}/trace", headers=personas.headers("health"),
                                        json={"onset": case.onset.isoformat()})
    assert r.status_code == 200, r.text
    assert len(r.json()["close"]) >= 300
    return case
