"""The API's schema documents every status an operation can answer (issue 17: 0 undocumented codes).

FastAPI lists 200 and 422 only; the platform's handlers (core.web.errors) answer any operation with
problem JSON for a request a rule refuses (400), a missing login (401), a role without the action (403),
an object outside the jurisdiction (404, so its existence does not leak), a state that changed meanwhile
(409), a body over its limit (413, core.web.limits), a rate limit (429) or a write not committed (503).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
COMMON = {
    "400": "The request cannot be done as asked (the problem's detail says why, e.g. merging a file into itself)",
    "401": "Not logged in, or the token has expired",
    "403": "The role may not do this (or the CSRF token is missing on a cookie-authenticated request)",
    "404": "No such object within your jurisdiction",
    "409": "The object changed meanwhile, or the request conflicts with its state",
    "413": "The request body is too large",
    "422": "A field or parameter is not valid (each field named in `errors`)",
    "429": "Too many requests: wait for Retry-After seconds",
    "503": "Not saved: send the same request again",
}
PROBLEM_SCHEMA = {
    "title": "Problem", "type": "object", "description": "RFC 9457 problem details",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "instance": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "properties": {
                       "field": {"type": "string"}, "message": {"type": "string"}}}}},
}


def install(app: FastAPI) -> None:
    """Add the common problem answers to every operation of the app's schema (built once, on first use)."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path in doc.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                for code, text in COMMON.items():
                    if code == "422":
                        responses[code] = {"description": text, "content": PROBLEM}
                    else:
                        responses.setdefault(code, {"description": text, "content": PROBLEM})
        app.openapi_schema = doc
        return doc

    app.openapi = schema  # type: ignore[method-assign]
