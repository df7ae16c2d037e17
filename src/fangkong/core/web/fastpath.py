"""Fast paths: the few hottest endpoints (a venue check-in, a checkpoint passage from a tablet) served
by an ASGI middleware in front of everything, without the app's middleware stack, dependency solving and
route table (together a third or more of such a request's CPU).

A fast route still gets what the shell gives every response: the security headers, a request id, the
language of the request, `no-store` on private paths, and errors as problem JSON or a page. Its handler
may answer None before reading the body to say "not mine" (say, an API token this process has not
verified yet): the request then goes through the app as usual. The ordinary routes stay registered and
documented (OpenAPI); they serve whatever the fast path passes on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fangkong.core.context import current_locale
from fangkong.core.web import errors
from fangkong.core.web.middleware import SECURITY_HEADERS, choose_locale, is_cacheable

Handler = Callable[[Request], Awaitable[Response | None]]


@dataclass(frozen=True)
class FastRoute:
    method: str
    pattern: re.Pattern[str]  # named groups become path parameters
    handler: Handler


class FastPaths:
    """ASGI middleware, outermost (installed last)."""

    def __init__(self, app: Any, settings: Any, routes: list[FastRoute]) -> None:
        self.app, self.settings, self.routes = app, settings, routes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        route = match = None
        if scope["type"] == "http":
            for candidate in self.routes:
                if scope.get("method") == candidate.method and (match := candidate.pattern.fullmatch(scope["path"])):
                    route = candidate
                    break
        if route is None or match is None:
            await self.app(scope, receive, send)
            return
        scope["path_params"] = match.groupdict()
        scope["fast_route"] = route.pattern.pattern  # the metrics' route label (a template, not the path)
        request = Request(scope, receive)
        request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        locale = current_locale.set(choose_locale(request, self.settings.default_locale))
        try:
            response = await route.handler(request)
        except Exception as exc:  # the same answers as the app's exception handlers
            response = errors.response_for(request, exc)
        finally:
            current_locale.reset(locale)
        if response is None:  # not for the fast path after all: the app serves it
            await self.app(scope, receive, send)
            return
        response.headers.update(SECURITY_HEADERS)
        response.headers["x-request-id"] = request_id
        if not is_cacheable(scope["path"]) and "cache-control" not in response.headers:
            response.headers["cache-control"] = "no-store"
        await response(scope, receive, send)


def install(app: Any, routes: list[FastRoute]) -> None:
    """Put the fast routes in front of everything (call after the shell middleware is installed)."""
    app.add_middleware(FastPaths, settings=app.state.settings, routes=routes)
