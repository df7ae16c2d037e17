"""Domain errors. Use cases raise these; one handler (core.web.errors) renders them as a page,
an HTMX fragment or RFC 9457 problem JSON. Messages are English msgids translated at render time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fangkong.core.i18n import N_


@dataclass(frozen=True)
class FieldError:
    """A problem with one input field: `message` is a msgid, `params` fill its placeholders."""

    field: str
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # `field` in this body is the attribute


class DomainError(Exception):
    status = 400
    slug = "bad-request"
    title = N_("Bad request")

    def __init__(self, detail: str | None = None, **params: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.params = params


class NotFound(DomainError):
    """Also raised for objects outside the user's jurisdiction, so their existence does not leak."""

    status = 404
    slug = "not-found"
    title = N_("Not found")


class Unauthenticated(DomainError):
    status = 401
    slug = "unauthenticated"
    title = N_("Please log in")


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = N_("Your role may not do this")


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = N_("Conflict")


class TooManyAttempts(DomainError):
    status = 429
    slug = "too-many-attempts"
    title = N_("Too many attempts")

    def __init__(self, detail: str | None = None, retry_after: int = 60, **params: Any) -> None:
        super().__init__(detail, **params)
        self.retry_after = retry_after


class BodyTooLarge(DomainError):
    status = 413
    slug = "too-large"
    title = N_("The request is too large.")


class NotSavedTryAgain(DomainError):
    """The write was not committed (a failed or slow transaction): the client may send it again."""

    status = 503
    slug = "not-saved"
    title = N_("Not saved. Please send it again.")
    retry_after = 2  # seconds: the Retry-After a client (or proxy) waits before sending it again


class ValidationFailed(DomainError):
    status = 422
    slug = "validation-failed"
    title = N_("Some fields need correcting")

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail)
        self.errors = errors

    @classmethod
    def one(cls, field_name: str, message: str, **params: Any) -> ValidationFailed:
        return cls([FieldError(field_name, message, params)])
