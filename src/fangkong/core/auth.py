"""Authentication: argon2 passwords, login throttling and lockout, browser sessions, API tokens."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from fangkong.core import audit
from fangkong.core.db import utcnow
from fangkong.core.errors import TooManyAttempts, Unauthenticated, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import ApiToken, User, UserSession
from fangkong.core.ratelimit import LoginThrottle
from fangkong.core.settings import Settings
from fangkong.core.shared import BUS

BAD_LOGIN = N_("Wrong username or password.")
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


# Wrong passwords from every source together before the account itself locks: a guess spread over many
# addresses. The per-address limit (core.ratelimit.LoginThrottle) answers long before one address gets here.
SPREAD_FACTOR = 10


def attempt_login(session: Session, settings: Settings, username: str, password: str,
                  throttle: LoginThrottle | None = None, ip: str = "-") -> Attempt:
    """Check a password; throttle by source first; lock the account only after many failures from anywhere.

    An unknown, inactive or locked account answers exactly like a wrong password (same message, same
    status, about the same time), so no answer tells which accounts exist or are locked (issue 17).
    """
    now = utcnow()
    if throttle is not None:
        try:
            throttle.check(username, ip)
        except TooManyAttempts as exc:
            audit.record(session, "login_refused", "user", None, reason="throttled")
            return Attempt(None, exc)
    user = session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    if user is None or not user.active or (user.locked_until and user.locked_until > now):
        _burn_time(settings)
        if throttle is not None:
            throttle.failed(username, ip)
        reason = "locked" if user is not None and user.active else "unknown or inactive"
        audit.record(session, "login_failed", "user", user.id if user is not None else None, reason=reason)
        return Attempt(None, Unauthenticated(BAD_LOGIN))
    try:
        hasher(settings).verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        if throttle is not None:
            throttle.failed(username, ip)
        user.failed_logins += 1
        locked = user.failed_logins >= settings.login_max_failures * (SPREAD_FACTOR if throttle else 1)
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


TOKEN_RECHECK_SECONDS = 5.0


class _TokenCache:
    """API tokens found valid, with a copy of their user, for a few seconds.

    A device sends its token with every passage; looking it and its user up each time cost about a
    fifth of a passage's server time (issue 3). Expiry is still checked on every request. A revoked
    token, a deactivated user or a changed role takes effect at once in the process that made the
    change (`forget_tokens`) and within TOKEN_RECHECK_SECONDS in the other server processes.
    """

    def __init__(self, size: int = 2048) -> None:
        self._rows: OrderedDict[tuple[str, str], tuple[float, datetime, User]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], now: datetime) -> User | None:
        hit = self._rows.get(key)
        if hit is None:
            return None
        checked, expires_at, user = hit
        if time.monotonic() - checked > TOKEN_RECHECK_SECONDS or expires_at <= now:
            return None
        return user

    def put(self, key: tuple[str, str], expires_at: datetime, user: User) -> None:
        with self._lock:
            self._rows[key] = (time.monotonic(), expires_at, user)
            self._rows.move_to_end(key)
            while len(self._rows) > self._size:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


_tokens = _TokenCache()
BUS.on("tokens", lambda _value: _tokens.clear())


def forget_tokens() -> None:
    """Drop the verified tokens of every worker (a user changed, a token was revoked): each one's next request
    rechecks (through Redis when configured; otherwise this process, the others within TOKEN_RECHECK_SECONDS)."""
    BUS.invalidate("tokens")


def verified_token_user(database_url: str, token: str) -> User | None:
    """Return the user (detached, with its unit; read it, never change it) of an API token this process
    verified a moment ago, without a query; None: ask `user_for_token`."""
    return _tokens.get((database_url, token_digest(token)), utcnow())


def cached_token_user(session: Session, token: str) -> User | None:
    """Return the user of an API token verified a moment ago, without a query (None: ask `user_for_token`)."""
    cached = verified_token_user(str(session.get_bind().engine.url), token)
    return None if cached is None else session.merge(cached, load=False)  # put in this session as it was


def user_for_token(session: Session, token: str) -> User | None:
    """Return the active user of a live API token (not revoked, not expired), with its unit."""
    cached = cached_token_user(session, token)
    if cached is not None:
        return cached
    now = utcnow()
    key = (str(session.get_bind().engine.url), token_digest(token))
    found = session.execute(select(User, ApiToken.expires_at).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == key[1], ApiToken.revoked_at.is_(None), ApiToken.expires_at > now,
        User.active.is_(True))).unique().first()
    if found is None:
        return None
    user, expires_at = found
    _tokens.put(key, expires_at, _detached_copy(user))
    return user


def _detached_copy(user: User) -> User:
    """Return a copy of a user and its unit that belongs to no session, as if just loaded."""
    def copy(obj: Any) -> Any:
        cls = type(obj)
        return cls(**{a.key: getattr(obj, a.key) for a in sa_inspect(cls).column_attrs})

    unit = copy(user.unit)
    made = copy(user)
    made.unit = unit
    make_transient_to_detached(unit)
    make_transient_to_detached(made)
    return made
