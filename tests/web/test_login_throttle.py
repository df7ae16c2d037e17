"""Login answers that tell nothing and throttling by source (issue 17, finding 7).

Before: a locked account answered 429 and an unknown one 401 (account enumeration), and anyone could lock
any account with five wrong passwords from anywhere; nothing throttled a source.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from fangkong.core.db import utcnow
from fangkong.core.models import User
from fangkong.demo.build import DEMO_PASSWORD
from tests.support import login


def _client(app, ip: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url="http://testserver", client=(ip, 50000))


def test_a_locked_account_answers_like_an_unknown_one(app, db) -> None:
    with db.unit_of_work() as s:
        s.execute(update(User).where(User.username == "station").values(locked_until=utcnow() + timedelta(hours=1)))
    c = _client(app, "10.0.0.1")
    locked, unknown = login(c, "station", "a-wrong-password"), login(c, "no-such-user", "a-wrong-password")
    assert locked.status_code == unknown.status_code == 401
    assert locked.text.replace("station", "") == unknown.text.replace("no-such-user", "")
    api = [c.post("/api/v1/auth/token", json={"username": u, "password": "a-wrong-password"})
           for u in ("station", "no-such-user")]
    assert [r.status_code for r in api] == [401, 401] and api[0].json()["detail"] == api[1].json()["detail"]


def test_unknown_and_known_usernames_are_throttled_alike(app, settings) -> None:
    c = _client(app, "10.0.0.2")
    for name in ("station", "no-such-user"):
        answers = [login(c, name, "a-wrong-password").status_code for _ in range(settings.login_max_failures + 1)]
        assert answers == [401] * settings.login_max_failures + [429], name


def test_the_lockout_lasts_the_lockout_period_and_each_wrong_password_after_it_another(app, settings) -> None:
    """The failures are a token bucket of login_max_failures regaining one per lockout period (issue 14)."""
    c = _client(app, "10.0.0.7")
    for _ in range(settings.login_max_failures):
        login(c, "station", "a-wrong-password")
    refused = login(c, "station", DEMO_PASSWORD)  # even the right password waits: the source is locked
    assert refused.status_code == 429
    assert settings.login_lockout_minutes * 60 - 5 <= int(refused.headers["Retry-After"]) \
        <= settings.login_lockout_minutes * 60 + 1


def test_five_requests_from_afar_do_not_lock_the_owner_out(app, settings) -> None:
    attacker, owner = _client(app, "203.0.113.9"), _client(app, "10.0.0.3")
    for _ in range(settings.login_max_failures + 2):
        login(attacker, "station", "a-wrong-password")
    assert login(owner, "station", DEMO_PASSWORD).status_code == 303


def test_one_address_is_throttled_across_usernames(app, settings) -> None:
    c = _client(app, "10.0.0.4")
    answers = [login(c, f"user{i}", "a-wrong-password").status_code for i in range(settings.login_ip_limit + 1)]
    assert answers[-1] == 429 and set(answers[:-1]) == {401}
    assert login(_client(app, "10.0.0.5"), "station", DEMO_PASSWORD).status_code == 303  # others unaffected


def test_many_failures_from_many_addresses_still_lock_the_account(app, settings, db) -> None:
    from fangkong.core.auth import SPREAD_FACTOR

    for i in range(settings.login_max_failures * SPREAD_FACTOR):
        login(_client(app, f"198.51.100.{i // settings.login_max_failures + 1}"), "station", "a-wrong-password")
    with db.sessions() as s:
        assert s.execute(select(User.locked_until).where(User.username == "station")).scalar() is not None
    assert login(_client(app, "10.0.0.6"), "station", DEMO_PASSWORD).status_code == 401  # told nothing more
