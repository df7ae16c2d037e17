"""Authentication: argon2 passwords, login throttling and lockout, browser sessions, API tokens."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.db import utcnow
from fangkong.core.errors import TooManyAttempts, Unauthenticated, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import ApiToken, User, UserSession
from fangkong.core.settings import Settings

BAD_LOGIN = N_("Wrong username or password.")
LOCKED = N_("Too many wrong passwords. Try again in {minutes} minutes.")
MIN_PASSWORD = 10


def hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib)


def hash_password(settings: Settings, password: str) -> str:
    """Return the argon2 hash of a password that meets the length rule."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.one("password", N_("The password needs at least {n} characters."), n=MIN_PASSWORD)
    return hasher(settings).hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Attempt:
    """The outcome of a login attempt. Failures are recorded in the session, so the caller commits
    the session and then raises `error`: a failed attempt must be kept although the request fails."""

    user: User | None
    error: Exception | None = None


def attempt_login(session: Session, settings: Settings, username: str, password: str) -> Attempt:
    """Check a password; count failures and lock the account after too many in a row."""
    now = utcnow()
    user = session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    if user is None or not user.active:
        _burn_time(settings)
        audit.record(session, "login_failed", "user", None, reason="unknown or inactive")
        return Attempt(None, Unauthenticated(BAD_LOGIN))
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        audit.record(session, "login_refused", "user", user.id, reason="locked")
        return Attempt(None, TooManyAttempts(LOCKED, retry_after=minutes * 60, minutes=minutes))
    try:
        hasher(settings).verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        locked = user.failed_logins >= settings.login_max_failures
        if locked:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
        audit.record(session, "login_failed", "user", user.id, locked=locked)
        return Attempt(None, Unauthenticated(BAD_LOGIN))
    if user.failed_logins or user.locked_until:
        user.failed_logins = 0
        user.locked_until = None
    return Attempt(user)


def _burn_time(settings: Settings) -> None:
    """Spend about as long as a real verification, so unknown usernames are not told apart by timing."""
    with contextlib.suppress(VerificationError):
        hasher(settings).verify(_DUMMY.get(settings), "not the password")


class _DummyHash:
    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], str] = {}

    def get(self, settings: Settings) -> str:
        key = (settings.argon2_time_cost, settings.argon2_memory_kib)
        if key not in self._cache:
            self._cache[key] = hasher(settings).hash(secrets.token_hex(8))
        return self._cache[key]


_DUMMY = _DummyHash()


@dataclass(frozen=True)
class Login:
    token: str  # the cookie value; only its digest is stored
    expires_at: datetime


def open_session(session: Session, settings: Settings, user: User, ip: str | None) -> Login:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(hours=settings.session_max_hours)
    session.add(UserSession(token_hash=token_digest(token), user_id=user.id, created_at=now,
                            last_seen_at=now, expires_at=expires, ip=ip))
    audit.record(session, "login", "user", user.id)
    return Login(token, expires)


def resume_session(session: Session, settings: Settings, token: str) -> User | None:
    """Return the user of a live browser session, touching it; None if absent, expired or idle."""
    now = utcnow()
    row = session.get(UserSession, token_digest(token))
    if row is None or row.revoked_at or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        row.revoked_at = now
        return None
    if (now - row.last_seen_at).total_seconds() > 30:
        row.last_seen_at = now
    user = session.get(User, row.user_id)
    return user if user and user.active else None


def close_session(session: Session, token: str) -> None:
    session.execute(update(UserSession).where(UserSession.token_hash == token_digest(token))
                    .values(revoked_at=utcnow()))


def issue_token(session: Session, settings: Settings, user: User) -> Login:
    token = "fk_" + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=settings.api_token_hours)
    session.add(ApiToken(token_hash=token_digest(token), user_id=user.id, expires_at=expires))
    audit.record(session, "token_issued", "user", user.id)
    return Login(token, expires)


def user_for_token(session: Session, token: str) -> User | None:
    """Return the active user of a live API token (not revoked, not expired), in one query with its unit."""
    return session.execute(select(User).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow(),
        User.active.is_(True))).unique().scalar_one_or_none()
