"""One request, one unit of work: open the transaction, find the user, set the audit actor."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from fangkong.core.access import can, require
from fangkong.core.auth import cached_token_user, resume_session, user_for_token
from fangkong.core.context import Actor, acting_as
from fangkong.core.errors import FieldError, Forbidden, NotFound, Unauthenticated, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.core.web.denied import audit_denied, is_denial

SESSION_COOKIE = "fk_session"
CSRF_COOKIE = "fk_csrf"
CSRF_FAILED = N_("The form has expired. Reload the page and try again.")


@dataclass(frozen=True)
class Viewer:
    """What pages show of the logged-in user; plain values, safe to render after the session ends."""

    id: int
    username: str
    display_name: str
    role: str
    unit_id: int
    unit_name: str

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.username, user.display_name, user.role, user.unit_id, user.unit.name)


@dataclass(frozen=True)
class Work:
    session: Session
    user: User


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def actor_for(request: Request, user: User | None) -> Actor:
    return Actor(
        username=user.username if user else "anonymous",
        user_id=user.id if user else None,
        role=user.role if user else None,
        unit_id=user.unit_id if user else None,
        ip=client_ip(request),
        request_id=getattr(request.state, "request_id", None),
    )


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_csrf(secret: str, session_token: str) -> str:
    """Return the CSRF token bound to a login session: an HMAC of the session's token, so a token read
    from one session (or set in a victim's browser before login) is worth nothing in another."""
    digest = hmac.new(secret.encode(), b"csrf|" + session_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def expected_csrf(request: Request) -> str:
    """Return the CSRF token this request must carry: bound to its session, else the pre-login cookie's."""
    session_token = request.cookies.get(SESSION_COOKIE)
    if session_token:
        return session_csrf(request.app.state.settings.secret_key, session_token)
    return request.cookies.get(CSRF_COOKIE, "")


def _csrf_ok(request: Request, sent: str) -> bool:
    expected = expected_csrf(request)
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def request_user(request: Request, session: Session) -> User | None:
    """Return the user of a bearer token or a browser session cookie, if valid.

    A cookie rides along with any request the browser makes, so a state-changing API request that
    authenticates by cookie must carry the session's CSRF token in `X-CSRF-Token` (body-less POSTs too);
    a bearer token is never sent by the browser on its own and needs none.
    """
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return user_for_token(session, header[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user = resume_session(session, request.app.state.settings, cookie)
        if user is not None and request.method not in SAFE_METHODS and request.url.path.startswith("/api/") \
                and not _csrf_ok(request, request.headers.get("X-CSRF-Token", "")):
            raise Forbidden(CSRF_FAILED)
        return user
    return None


@contextmanager
def work(request: Request) -> Iterator[Work]:
    """Yield the session and the logged-in user; commit at the end, roll back on any error.

    On routes with a `guard`, authentication already opened the request's session: the work goes on
    in it, so a request costs one transaction, not two.
    """
    opened: Session | None = getattr(request.state, "session", None)
    actor: Actor | None  # None until the request's user is known
    if opened is not None:
        user = request.state.auth_user
        request.state.user = Viewer.of(user)
        actor = actor_for(request, user)
        with acting_as(actor), _current(request, opened):
            try:
                yield Work(opened, user)
                opened.commit()
            except BaseException as exc:
                opened.rollback()
                if is_denial(exc):
                    audit_denied(request, actor, exc)  # type: ignore[arg-type]
                raise
        return
    actor = None
    try:
        with request.app.state.db.unit_of_work() as session:
            with acting_as(actor_for(request, None)):
                user = request_user(request, session)
            if user is None:
                raise Unauthenticated()
            request.state.user = Viewer.of(user)
            actor = actor_for(request, user)
            with acting_as(actor), _current(request, session):
                yield Work(session, user)
    except (Forbidden, NotFound) as exc:
        if actor is not None:  # after the rollback: the denial's row goes in its own transaction
            audit_denied(request, actor, exc)
        raise


@contextmanager
def _current(request: Request, session: Session) -> Iterator[None]:
    """Let a page rendered inside the unit of work read in its session (SQLite: a second transaction
    would wait for this one's write lock)."""
    request.state.work_session = session
    try:
        yield
    finally:
        request.state.work_session = None


@contextmanager
def public_work(request: Request) -> Iterator[Session]:
    """Yield a session for a request without a login (the public pages, the login form)."""
    with request.app.state.db.unit_of_work() as session, acting_as(actor_for(request, None)):
        yield session


T = TypeVar("T")


def submit_form(request: Request, act: Callable[[Work], Response],
                refuse: Callable[[Work, list[FieldError]], Response]) -> Response:
    """Return `act`'s answer to a posted form, or, when its use case raises ValidationFailed, `refuse`'s (the
    form again with its errors), both in the request's one unit of work.

    A refused form then costs one transaction and one authentication, not two. Committing after a refusal
    is safe because of the savepoint taken before `act`: whatever the use case wrote before it found the
    problem (rows, updates, audit entries: core.audit drops a rolled-back savepoint's) goes with it, while
    what `refuse` reads and audits commits. Any other error leaves through `work()` as before: everything
    rolled back, a denial audited.
    """
    with work(request) as w:
        return _attempt(w.session, w, act, refuse)


def submit_public_form(request: Request, act: Callable[[Session], Response],
                       refuse: Callable[[Session, list[FieldError]], Response]) -> Response:
    """Return the answer to a form of the public pages like `submit_form`, in one `public_work()`."""
    with public_work(request) as session:
        return _attempt(session, session, act, refuse)


def _attempt(session: Session, unit: T, act: Callable[[T], Response],
             refuse: Callable[[T, list[FieldError]], Response]) -> Response:
    try:
        with session.begin_nested():
            return act(unit)
    except ValidationFailed as exc:
        # Objects the use case read after writing (or changed with an UPDATE) may still show its writes:
        # `refuse` reads what the rolled-back database holds, as a second unit of work used to.
        session.expire_all()
        return refuse(unit, list(exc.errors))


def _found_user(request: Request, session: Session) -> User | None:
    with acting_as(actor_for(request, None)):
        return request_user(request, session)


async def authenticated(request: Request) -> AsyncIterator[User]:
    """Route dependency (once per request): open the request's session and find its user, or 401.

    `work()` continues in this session and commits it; whatever is left is closed (rolled back) here.
    Async, so that a device's recently verified token costs no trip to a worker thread (and no query):
    only a lookup in the database, or closing a session still in a transaction, goes to one.
    """
    session = request.app.state.db.sessions()
    try:
        session.begin()  # no connection yet: the first statement takes one
        header = request.headers.get("Authorization", "")
        user = cached_token_user(session, header[7:].strip()) if header.lower().startswith("bearer ") else None
        queried = user is None
        if queried:
            user = await run_in_threadpool(_found_user, request, session)
        if user is None:
            raise Unauthenticated()
        request.state.session, request.state.auth_user = session, user
        request.state.session_queried = queried
        yield user
    finally:
        await release_request_session(request, session)


async def release_request_session(request: Request, session: Session | None = None) -> None:
    """Close the request's session (rolling back what work() did not commit). Routes that hand their
    writing to a group-commit writer call it first: waiting for the writer while holding a transaction
    (on SQLite, the database's write lock) would stall the writer."""
    session = session or getattr(request.state, "session", None)
    request.state.session = None
    if session is None:
        return
    if session.in_transaction() and getattr(request.state, "session_queried", True):
        await run_in_threadpool(session.close)  # the rollback talks to the database
    else:
        session.close()  # a verified token's session never took a connection


def guard(*actions: str) -> Any:
    """Route dependency: 401 without valid credentials and 403 when the role lacks an action, both
    before the request body is validated (so callers learn nothing from field errors first)."""

    async def dependency(request: Request, user: Annotated[User, Depends(authenticated)]) -> None:
        try:  # async: no thread hop on the way through
            for action in actions:
                require(user, action)
        except Forbidden as exc:
            actor = actor_for(request, user)
            await release_request_session(request)  # SQLite: its write lock would block the audit row
            await run_in_threadpool(audit_denied, request, actor, exc)
            raise

    return Depends(dependency)


def guard_any(*actions: str) -> Any:
    """Route dependency like `guard`, satisfied by any one of `actions`."""

    async def dependency(request: Request, user: Annotated[User, Depends(authenticated)]) -> None:
        if not any(can(user, action) for action in actions):
            exc = Forbidden()
            actor = actor_for(request, user)
            await release_request_session(request)
            await run_in_threadpool(audit_denied, request, actor, exc)
            raise exc

    return Depends(dependency)


async def checked_form(request: Request) -> FormData:
    """Return the posted form after checking its CSRF token against the cookie (double submit)."""
    form = await request.form()
    sent = str(form.get("csrf_token") or request.headers.get("X-CSRF-Token") or "")
    if not _csrf_ok(request, sent):
        raise Forbidden(CSRF_FAILED)
    return form
