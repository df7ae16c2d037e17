"""Per-request context: who is acting and in which language, carried in context variables.

The audit listener and the translation functions read these; routes and the CLI set them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Actor:
    """Who an audit row is about: a user, the CLI, or the system."""

    username: str
    user_id: int | None = None
    role: str | None = None
    unit_id: int | None = None
    ip: str | None = None
    request_id: str | None = None
    purpose: str | None = None


SYSTEM = Actor(username="system")

current_actor: ContextVar[Actor] = ContextVar("current_actor", default=SYSTEM)
current_locale: ContextVar[str] = ContextVar("current_locale", default="zh_CN")


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = current_actor.set(actor)
    try:
        yield actor
    finally:
        current_actor.reset(token)


@contextmanager
def with_purpose(purpose: str) -> Iterator[Actor]:
    """Attach a stated purpose (why personal data is being revealed or exported) to the audit rows."""
    with acting_as(replace(current_actor.get(), purpose=purpose)) as actor:
        yield actor
