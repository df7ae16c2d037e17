"""Request body limits, enforced before anything reads the body (issue 17, finding 4).

An ASGI middleware in front of everything (the fast paths included): a declared Content-Length over the
limit is answered 413 at once, without reading a byte; a body sent without one (chunked) is counted as it
streams and cut off at the limit. The limit depends on the path and on whether the request carries
credentials at all: a request without a session cookie or a token gets the anonymous limit, so a
stranger cannot make the server read 50 MB before the login check says no. Sheet uploads get the upload
limit; capabilities declare their upload paths (`Capability.uploads`).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fangkong.core.errors import BodyTooLarge
from fangkong.core.i18n import N_

TOO_LARGE = N_("The request is larger than {kb} KB.")
SESSION_COOKIE = b"fk_session="
MULTIPART_SLACK = 64 * 1024  # the form's other fields and the multipart boundaries around a file


@dataclass(frozen=True)
class Upload:
    """A path (regular expression, matched whole) whose requests may carry an uploaded file."""

    pattern: str
    public: bool = False  # also without a login (the public's pass application with its document)


class BodyLimits:
    def __init__(self, app: ASGIApp, settings: Any, uploads: list[Upload]) -> None:
        self.app = app
        self.default = settings.body_max_kb * 1024
        self.anonymous = settings.body_anonymous_max_kb * 1024
        self.upload = settings.upload_max_mb * 1024 * 1024 + MULTIPART_SLACK
        self.uploads = [(re.compile(u.pattern), u.public) for u in uploads]

    def limit_for(self, scope: Scope) -> int:
        """Return the most bytes this request's body may have."""
        headers = dict(scope.get("headers") or [])
        anonymous = b"authorization" not in headers and SESSION_COOKIE not in headers.get(b"cookie", b"")
        for pattern, public in self.uploads:
            if pattern.fullmatch(scope["path"]) and (public or not anonymous):
                return self.upload
        return self.anonymous if anonymous else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, send, limit)
            return
        seen, over, answered = 0, False, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge(TOO_LARGE, kb=limit // 1024)
            return message

        async def watch(message: Message) -> None:
            nonlocal answered
            if over:  # whatever the app made of the cut body (FastAPI: 400), the answer is 413
                if not answered:
                    answered = True
                    await self._refuse(scope, send, limit)
                return
            await send(message)

        with contextlib.suppress(BodyTooLarge):  # raised by `counted` and not handled inside: answered below
            await self.app(scope, counted, watch)
        if over and not answered:
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        from fangkong.core.web import errors  # the one place errors become answers
        from fangkong.core.web.middleware import SECURITY_HEADERS

        response = errors.response_for(Request(scope), BodyTooLarge(TOO_LARGE, kb=limit // 1024))
        response.headers.update(SECURITY_HEADERS)
        response.headers["cache-control"] = "no-store"
        response.headers["connection"] = "close"  # the unread body: the connection cannot be reused

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)


def install(app: Any, uploads: list[Upload]) -> None:
    """Put the body limits in front of everything (call last: outermost)."""
    app.add_middleware(BodyLimits, settings=app.state.settings, uploads=uploads)
