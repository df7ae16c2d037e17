"""One place that turns errors into responses: problem JSON (RFC 9457) for the API, pages otherwise."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from fangkong.core.errors import DomainError, FieldError, NotFound, Unauthenticated, ValidationFailed
from fangkong.core.i18n import N_, gettext
from fangkong.core.web.params import FieldValueError
from fangkong.core.web.templating import render

log = logging.getLogger("fangkong.web")

PROBLEM_JSON = "application/problem+json"
REQUIRED = N_("This field is required.")
INVALID = N_("This value is not valid.")
METHOD = N_("This method is not allowed here.")
NEEDS_OFFSET = N_("Give the time with its offset, e.g. 2022-03-01T08:00:00+08:00.")
SERVER = N_("Something went wrong on our side. The error has been logged.")
UNAVAILABLE = N_("The database cannot be reached just now. Nothing was saved: send it again in a few seconds.")


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem(request: Request, exc: DomainError, errors: list[FieldError] | None = None) -> Response:
    headers = {}
    if getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
    if wants_json(request):
        body: dict[str, Any] = {
            "type": f"/problems/{exc.slug}",
            "title": gettext(exc.title),
            "status": exc.status,
            "detail": gettext(exc.detail, **exc.params),
            "instance": request.url.path,
        }
        if errors:
            body["errors"] = [{"field": e.field, "message": gettext(e.message, **e.params)} for e in errors]
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(body, status_code=exc.status, media_type=PROBLEM_JSON, headers=headers)
    if isinstance(exc, Unauthenticated) and request.method == "GET":
        target = "/login?next=" + quote(request.url.path)
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    context = {"error": exc, "errors": errors or []}
    return render(request, "error.html", context, status=exc.status) if not headers else _with(
        render(request, "error.html", context, status=exc.status), headers)


def _with(response: Response, headers: dict[str, str]) -> Response:
    response.headers.update(headers)
    return response


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def _message_of(error: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return the message for one pydantic error: ours when a parameter type said why (core.web.params)."""
    if error.get("type") == "missing":
        return REQUIRED, {}
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldValueError):
        return cause.message, cause.params
    if error.get("type") == "timezone_aware":
        return NEEDS_OFFSET, {}
    return INVALID, {}


def validation_problem(request: Request, problems: list[dict[str, Any]]) -> Response:
    """Answer a body or parameter that failed validation (pydantic's error list) with field errors."""
    errors = [FieldError(_field_of(tuple(e.get("loc", ()))), *_message_of(e)) for e in problems]
    return problem(request, ValidationFailed(errors), errors)


def response_for(request: Request, exc: Exception) -> Response:
    """The answer to an exception a request raised: problem JSON for the API, an error page otherwise."""
    if isinstance(exc, DomainError):
        return problem(request, exc, getattr(exc, "errors", None))
    if isinstance(exc, RequestValidationError | PydanticValidationError):
        return validation_problem(request, list(exc.errors()))  # type: ignore[arg-type]
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            return problem(request, NotFound())
        err = DomainError(METHOD if exc.status_code == 405 else INVALID)
        err.status = exc.status_code
        return problem(request, err)
    if isinstance(exc, OperationalError | InterfaceError) or (isinstance(exc, DBAPIError)
                                                           and exc.connection_invalidated):
        # The database is unreachable or restarting: nothing was committed, so sending again is safe.
        log.warning("database unavailable request_id=%s (%s)", getattr(request.state, "request_id", "-"),
                    type(getattr(exc, "orig", exc)).__name__)
        err = DomainError(UNAVAILABLE)
        err.status, err.slug, err.title = 503, "unavailable", N_("Service unavailable")
        err.retry_after = 5  # type: ignore[attr-defined]
        return problem(request, err)
    if isinstance(exc, ClientDisconnect):  # the client hung up mid-request: nothing to answer, not our error
        from fangkong.core.metrics import DISCONNECTS, route_of

        DISCONNECTS.labels(route_of(request.scope)).inc()
        log.info("client went away request_id=%s", getattr(request.state, "request_id", "-"))
        return Response(status_code=499)
    log.exception("unhandled error request_id=%s", getattr(request.state, "request_id", "-"), exc_info=exc,
                  extra={"request_id": getattr(request.state, "request_id", "-")})
    err = DomainError(SERVER)
    err.status, err.slug, err.title = 500, "server-error", N_("Server error")
    return problem(request, err)


def install(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> Response:
        return response_for(request, exc)

    for kind in (DomainError, RequestValidationError, StarletteHTTPException, ClientDisconnect, DBAPIError, Exception):
        app.add_exception_handler(kind, handle)
