"""The public check-in hot path (issue 6): /v/<venue code> without a login.

Busiest endpoint of the platform, so it is lean by design: Starlette routes (no FastAPI dependency
solving), the venue code checked by shape before any lookup, venue codes cached per worker for
`venue_cache_seconds`, validation in plain Python, rate limits per device cookie and per IP in memory,
and group commit (checkin_writer): the answer is sent only after the check-in's transaction committed.
Linking a visit to a person file happens after the acknowledgement (venues.link_pending_visits).

The response never depends on whether the phone number is known: nothing here looks it up.
No CSRF token on these forms: there is no session to ride on, anyone may check anyone in anyway, and the
form's nonce makes a resubmission idempotent; a check-in without the nonce of a served form is refused
(422, the form again with a fresh one), so a script cannot post check-ins without fetching the page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from fangkong.core.codes import CodeError, mask_phone, normalize_mobile
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database
from fangkong.core.errors import DomainError, FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.ratelimit import TokenBucket
from fangkong.core.settings import Settings
from fangkong.core.shared import BUS
from fangkong.core.web.errors import problem, wants_json
from fangkong.core.web.fastpath import FastRoute
from fangkong.core.web.templating import render
from fangkong.registration.venues import service as venues
from fangkong.registration.venues.checkin_limits import is_token, new_token
from fangkong.registration.venues.checkin_writer import CheckinRow, CheckinWriter, NonceReused

router = APIRouter(include_in_schema=False)

DEVICE_COOKIE, REMEMBER_COOKIE, OPEN_COOKIE = "fk_dev", "fk_me", "fk_visit"
MAX_BODY = 2048  # a check-in form is well under 300 bytes
MAX_NAME = 50
FORBIDDEN_IN_NAME = set("<>\"'`{}[]\\;=&%$#@^|~*/") | {chr(c) for c in range(32)} | {"\x7f"}

NOT_A_CODE = N_("This is not a venue code. Scan the QR code on the venue's poster again.")
CODE_DISABLED = N_("This venue code is no longer in use. Ask the staff for the current poster.")
TOO_MANY = N_("Too many check-ins from this phone or network. Wait {seconds} seconds and try again.")
TOO_LARGE = N_("The form is too large. Fill in only your name and mobile number.")
BAD_FORM = N_("The form could not be read. Reload the page and try again.")
NOT_SAVED = N_("Your check-in could not be saved. Please try again.")
SCAN_AGAIN = N_("This page has expired. Scan the QR code again.")
ENTER_NAME = N_("Enter your name.")
NAME_TOO_LONG = N_("At most {n} characters.")
NAME_ONLY = N_("Enter only your name, without symbols or links.")
ENTER_PHONE = N_("Enter your mobile number.")


class CachedVenues:
    """Venue codes a worker has looked up, trusted for `ttl` seconds (misses are cached too)."""

    def __init__(self, db: Database, ttl: float, max_size: int = 50_000) -> None:
        self.db, self.ttl, self.max_size = db, ttl, max_size
        self._cache: dict[str, tuple[float, venues.PublicVenue | None]] = {}

    async def get(self, token: str) -> venues.PublicVenue | None:
        hit = self._cache.get(token)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        venue = await run_in_threadpool(self._load, token)
        if len(self._cache) >= self.max_size:
            self._cache.clear()
        self._cache[token] = (now, venue)
        return venue

    def _load(self, token: str) -> venues.PublicVenue | None:
        with self.db.sessions() as session:
            return venues.venue_by_token(session, token)

    def forget(self, *tokens: str) -> None:
        """Forget rotated or closed codes in every worker (through Redis when configured)."""
        for token in tokens:
            BUS.invalidate("venues", token)

    def drop(self, token: str) -> None:
        self._cache.pop(token, None)


class CheckinService:
    """One per app: the venue cache, the rate limits and the group-commit writer."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.venues = CachedVenues(db, settings.venue_cache_seconds)
        BUS.on("venues", self.venues.drop)
        self.devices = TokenBucket(settings.checkin_device_burst, settings.checkin_device_per_minute / 60,
                                   name="checkin-device")
        self.ips = TokenBucket(settings.checkin_ip_burst, settings.checkin_ip_per_minute / 60, name="checkin-ip")
        self.writer = CheckinWriter(db, settings.checkin_batch_max, idle_work=self.link_some)

    def link_some(self) -> None:
        """Link a batch of new visits to person files (the writer's idle work)."""
        with acting_as(Actor(username="system:checkin")), self.db.unit_of_work() as session:
            venues.link_pending_visits(session, limit=500)


def checkin_service(app: Any) -> CheckinService:
    found = getattr(app.state, "checkin", None)
    if found is None:
        found = app.state.checkin = CheckinService(app.state.db, app.state.settings)
    return found


# --- small helpers ---------------------------------------------------------------------------------

def _refuse(request: Request, status: int, message: str, retry_after: int | None = None,
            **params: Any) -> Response:
    """A friendly page (or problem JSON) for a refused check-in; nothing has been saved."""
    if wants_json(request):
        err = DomainError(message, **params)
        err.status, err.slug = status, "checkin-refused"
        response = problem(request, err)
    else:
        response = render(request, "registration/checkin_error.html", {"message": message, "params": params},
                          status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "-"


def _limited(request: Request, svc: CheckinService) -> Response | None:
    device = request.cookies.get(DEVICE_COOKIE)
    for bucket, key in ((svc.devices, device if is_token(device) else None), (svc.ips, _client_ip(request))):
        if key is not None and (wait := bucket.take(key)) > 0:
            seconds = max(1, int(wait + 0.999))
            return _refuse(request, 429, TOO_MANY, seconds, seconds=seconds)
    return None


async def _read_form(request: Request) -> dict[str, str] | Response:
    """Return the posted form (URL-encoded, at most MAX_BODY bytes), or the refusal."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return _refuse(request, 413, TOO_LARGE)
    kind = request.headers.get("content-type", "")
    if kind and not kind.startswith("application/x-www-form-urlencoded"):  # multipart, JSON …
        return _refuse(request, 400, BAD_FORM)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return _refuse(request, 413, TOO_LARGE)
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=12))
    except ValueError:  # bad UTF-8, too many fields
        return _refuse(request, 400, BAD_FORM)


async def _venue(request: Request, svc: CheckinService, token: str) -> venues.PublicVenue | Response:
    venue = await svc.venues.get(token)
    if venue is None:
        return _refuse(request, 404, NOT_A_CODE)
    if not venue.active:
        return _refuse(request, 410, CODE_DISABLED)
    return venue


def validate_checkin(form: dict[str, str]) -> tuple[str, str, list[FieldError]]:
    """Return the cleaned name and phone, and what is wrong with them (in plain Python: the hot path)."""
    errors = []
    name = " ".join(form.get("name", "").split())
    if not name:
        errors.append(FieldError("name", ENTER_NAME))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", NAME_TOO_LONG, {"n": MAX_NAME}))
    elif not FORBIDDEN_IN_NAME.isdisjoint(name) or "http" in name.lower() or "script" in name.lower():
        errors.append(FieldError("name", NAME_ONLY))
    raw_phone = form.get("phone", "")
    phone = ""
    if not raw_phone.strip():
        errors.append(FieldError("phone", ENTER_PHONE))
    elif len(raw_phone) > 30:
        errors.append(FieldError("phone", N_("A mobile number has 11 digits and starts with 1.")))
    else:
        try:
            phone = normalize_mobile(raw_phone)
        except CodeError as exc:
            errors.append(FieldError("phone", exc.message, exc.params))
    return name, phone, errors


# The name and number a phone asked to remember live in its own cookie, encrypted and authenticated
# (AES-GCM, a key derived from the secret key) with their expiry inside: nothing personal is readable in
# the cookie, a changed cookie is ignored, and it is worthless after FANGKONG_CHECKIN_REMEMBER_HOURS.
_REMEMBER_CONTEXT = b"fangkong checkin remember v1"


def _remember_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _REMEMBER_CONTEXT, hashlib.sha256).digest()


def remembered(cookie: str | None, secret: str, now: float | None = None) -> dict[str, str]:
    """Return the name and phone this phone agreed to remember (from its own cookie), if any and not expired."""
    if not cookie or len(cookie) > 400:
        return {}
    try:
        sealed = base64.urlsafe_b64decode(cookie.encode() + b"===")
        raw = AESGCM(_remember_key(secret)).decrypt(sealed[:12], sealed[12:], _REMEMBER_CONTEXT)
        data = json.loads(raw)
        if float(data["x"]) < (now or time.time()):
            return {}
        name, phone = str(data.get("n", ""))[:MAX_NAME], normalize_mobile(str(data.get("p", "")))
    except (ValueError, KeyError, TypeError, AttributeError, CodeError, InvalidTag):
        return {}
    return {"name": name, "phone": phone}


def remember_value(name: str, phone: str, secret: str, hours: int) -> str:
    """Return the sealed cookie value remembering a name and number for `hours`."""
    raw = json.dumps({"n": name, "p": phone, "x": int(time.time() + hours * 3600)}, ensure_ascii=False,
                     separators=(",", ":")).encode()
    nonce = secrets.token_bytes(12)
    sealed = nonce + AESGCM(_remember_key(secret)).encrypt(nonce, raw, _REMEMBER_CONTEXT)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/v/", httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies)


def _open_visit(request: Request, venue_id: int) -> str | None:
    """Return the nonce of this phone's open check-in at this venue (kept in its cookie), if any."""
    value = request.cookies.get(OPEN_COOKIE, "")
    venue_part, _, key = value.partition(".")
    return key if venue_part == str(venue_id) and is_token(key) else None


# --- routes ----------------------------------------------------------------------------------------

async def venue_page(request: Request) -> Response:
    """The page a scan opens: the venue's name and the check-in form (or the check-out button)."""
    token = request.path_params["token"]
    if not is_token(token):
        return _refuse(request, 404, NOT_A_CODE)
    svc = checkin_service(request.app)
    venue = await _venue(request, svc, token)
    if isinstance(venue, Response):
        return venue
    values = remembered(request.cookies.get(REMEMBER_COOKIE), request.app.state.settings.secret_key)
    response = _form(request, venue, token, values, [], new_token(), 200, bool(values))
    if not is_token(request.cookies.get(DEVICE_COOKIE)):
        _cookie(response, request, DEVICE_COOKIE, new_token(), 365 * 86400)
    return response


def _form(request: Request, venue: venues.PublicVenue, token: str, values: dict[str, str],
          errors: list[FieldError], nonce: str, status: int, remember: bool) -> Response:
    ctx = {"venue": venue, "kind": venues.KINDS.get(venue.kind, ""), "token": token, "values": values,
           "errors": errors, "nonce": nonce, "remember": remember,
           "open_visit": _open_visit(request, venue.id)}
    response = render(request, "registration/checkin_form.html", ctx, status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _admit(request: Request) -> Response | tuple[Any, dict[str, str], Any, str]:
    """Return (service, form, venue, token) for a public POST, or the refusal: the code's shape first
    (no lookup for junk), then the rate limits, the form's size and shape, and the venue itself."""
    token = request.path_params["token"]
    if not is_token(token):
        return _refuse(request, 404, NOT_A_CODE)
    svc = checkin_service(request.app)
    refused = _limited(request, svc)
    if refused is not None:
        return refused
    form = await _read_form(request)
    if isinstance(form, Response):
        return form
    venue = await _venue(request, svc, token)
    if isinstance(venue, Response):
        return venue
    return svc, form, venue, token


async def check_in(request: Request) -> Response:
    """Check in: validate, queue for the writer, answer after the commit with a confirmation to show."""
    admitted = await _admit(request)
    if isinstance(admitted, Response):
        return admitted
    svc, form, venue, token = admitted
    nonce = form.get("nonce", "")
    name, phone, errors = validate_checkin(form)
    remember = form.get("remember") == "1"
    if not is_token(nonce):  # only the form the venue's page served may check in (and a retry stays one visit)
        errors.insert(0, FieldError("nonce", SCAN_AGAIN))
        nonce = new_token()
    if errors:
        return _form(request, venue, token, {"name": form.get("name", "")[:60], "phone": form.get("phone", "")[:30]},
                     errors, nonce, 422, remember)
    row = CheckinRow(nonce, venue.id, name, phone, _client_ip(request), getattr(request.state, "request_id", None))
    try:
        recorded = await svc.writer.submit(row)
    except NonceReused:
        return _refuse(request, 409, SCAN_AGAIN)
    except Exception:  # a timeout or a failed commit: not acknowledged, so say so
        return _refuse(request, 503, NOT_SAVED)
    ctx = {"venue": venue, "kind": venues.KINDS.get(venue.kind, ""), "name": name, "phone": mask_phone(phone),
           "at": recorded.checked_in_at, "out_at": None, "code": nonce[:6].upper(), "nonce": nonce, "token": token}
    response = render(request, "registration/checkin_done.html", ctx)
    response.headers["Cache-Control"] = "no-store"
    _cookie(response, request, OPEN_COOKIE, f"{venue.id}.{nonce}", int(venues.OPEN_VISIT.total_seconds()))
    if remember:
        settings = request.app.state.settings
        _cookie(response, request, REMEMBER_COOKIE,
                remember_value(name, phone, settings.secret_key, settings.checkin_remember_hours),
                settings.checkin_remember_hours * 3600)
    elif REMEMBER_COOKIE in request.cookies:
        response.delete_cookie(REMEMBER_COOKIE, path="/v/")
    return response


async def check_out(request: Request) -> Response:
    """Check out of this phone's open check-in at the venue."""
    admitted = await _admit(request)
    if isinstance(admitted, Response):
        return admitted
    svc, form, venue, token = admitted
    key = form.get("visit", "") or _open_visit(request, venue.id) or ""
    if not is_token(key):
        return _refuse(request, 422, venues.NO_OPEN_VISIT)
    actor = Actor(username="public", ip=_client_ip(request), request_id=getattr(request.state, "request_id", None))

    def run() -> Any:
        with acting_as(actor), svc.db.unit_of_work() as session:
            visit = venues.check_out(session, venue.id, key)
            return visit.name, visit.phone, visit.checked_in_at, visit.checked_out_at

    try:
        name, phone, at, out_at = await run_in_threadpool(run)
    except ValidationFailed as exc:  # no open visit, or one that has ended on its own
        return _refuse(request, 422, exc.errors[0].message, **exc.errors[0].params)
    ctx = {"venue": venue, "kind": venues.KINDS.get(venue.kind, ""), "name": name, "phone": mask_phone(phone),
           "at": at, "out_at": out_at, "code": key[:6].upper(), "nonce": key, "token": token}
    response = render(request, "registration/checkin_done.html", ctx)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(OPEN_COOKIE, path="/v/")
    return response


router.add_route("/v/{token}", venue_page, methods=["GET"])
router.add_route("/v/{token}", check_in, methods=["POST"])
router.add_route("/v/{token}/checkout", check_out, methods=["POST"])


# The two public POSTs, served in front of the app's middleware stack (core.web.fastpath): about a
# third of a check-in's CPU. The routes above stay registered and serve anything these miss.
FAST_ROUTES = [FastRoute("POST", re.compile(r"/v/(?P<token>[^/]+)"), check_in),
               FastRoute("POST", re.compile(r"/v/(?P<token>[^/]+)/checkout"), check_out)]
