"""Fast paths: the few hottest endpoints (a venue check-in, a checkpoint passage from a tablet) served
inside the shell middleware (`core/web/middleware.py`), without the exception middleware, dependency
solving and route table (together a third or more of such a request's CPU).

A fast route gets what the shell gives every response, written once by the shell: the security headers,
a request id, the language of the request, `no-store` on private paths; errors are problem JSON or a page. Its handler
may answer None before reading the body to say "not mine" (say, an API token this process has not
verified yet): the request then goes through the app as usual. The ordinary routes stay registered and
documented (OpenAPI); they serve whatever the fast path passes on.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fangkong.core.web import errors

Handler = Callable[[Request], Awaitable[Response | None]]


@dataclass(frozen=True)
class FastRoute:
    method: str
    pattern: re.Pattern[str]  # named groups become path parameters
    handler: Handler


def match(routes: list[FastRoute], scope: Any) -> tuple[FastRoute, re.Match[str]] | None:
    """Return the fast route for this request, if one serves it."""
    for route in routes:
        if scope.get("method") == route.method and (found := route.pattern.fullmatch(scope["path"])):
            return route, found
    return None


async def serve(route: FastRoute, found: re.Match[str], scope: Any, receive: Any, send: Any) -> bool:
    """Answer the request by its fast route; False when the handler hands it back to the app (before it
    read the body). Called by the shell middleware, which has already set the request id and the language
    and writes the headers every response gets."""
    scope["path_params"] = found.groupdict()
    scope["fast_route"] = route.pattern.pattern  # the metrics' route label (a template, not the path)
    request = Request(scope, receive)
    try:
        response = await route.handler(request)
    except Exception as exc:  # the same answers as the app's exception handlers
        response = errors.response_for(request, exc)
    if response is None:  # not for the fast path after all: the app serves it
        return False
    await response(scope, receive, send)
    return True
