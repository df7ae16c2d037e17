"""The application factory: settings in, a FastAPI app out. Nothing is built at import time."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from fangkong.checkpoints import api as checkpoints_api
from fangkong.checkpoints import web as checkpoints_web
from fangkong.checkpoints.flags import warm_up as warm_checkpoint_flags
from fangkong.checkpoints.timeline import passage_entries
from fangkong.core.db import Database
from fangkong.core.settings import Settings, load_settings
from fangkong.core.web import admin, audit_pages, errors, fastpath, middleware, shell
from fangkong.core.web import api as core_api
from fangkong.leads import api as leads_api
from fangkong.leads import web as leads_web
from fangkong.leads.timeline import lead_entries
from fangkong.people import api as people_api
from fangkong.people import followup_api, followup_web
from fangkong.people import web as people_web
from fangkong.people.followups import follow_up_entries
from fangkong.registration import arrival_web, gathering_web, registration_api, venue_api, venue_web
from fangkong.registration import checkin as registration_checkin
from fangkong.registration.timeline import arrival_entries, gathering_entries
from fangkong.registration.venue_timeline import visit_entries
from fangkong.tracing import api as tracing_api
from fangkong.tracing import web as tracing_web
from fangkong.tracing.cases import Presence, upgrade_secondaries
from fangkong.tracing.sources import PLACE_NAMERS, presence_sources
from fangkong.tracing.store import PresenceStore

STATIC = Path(__file__).resolve().parent / "core" / "web" / "static"

# Each capability contributes page routes, API routes, navigation entries and a template folder.
CAPABILITIES = [
    (shell.router, None, []),
    (registration_checkin.router, None, []),  # the public hot path: early in the route list
    (people_web.router, people_api.router, people_web.NAV),
    (followup_web.router, followup_api.router, followup_web.NAV),
    (leads_web.router, leads_api.router, leads_web.NAV),
    (checkpoints_web.router, checkpoints_api.router, checkpoints_web.NAV),
    (tracing_web.router, tracing_api.router, tracing_web.NAV),
    (arrival_web.router, registration_api.router, arrival_web.NAV),
    (gathering_web.router, None, gathering_web.NAV),
    (venue_web.router, venue_api.router, venue_web.NAV),
    (admin.router, None, admin.NAV),
    (audit_pages.router, None, audit_pages.NAV),
    (None, core_api.router, []),
]
# What each capability contributes to a person's timeline (people imports none of them).
TIMELINE_SOURCES = [lead_entries, passage_entries, follow_up_entries, arrival_entries, gathering_entries, visit_entries]
ROOMS = ("people", "leads", "checkpoints", "tracing", "registration")
TEMPLATE_DIRS = tuple(Path(__file__).resolve().parent / room / "templates" for room in ROOMS)


def _docs_router(app: FastAPI) -> APIRouter:
    """Serve the OpenAPI viewer from the app's own vendored assets (no CDN: the network may be closed)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/api/docs")
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "", title="fangkong API",
                                   swagger_js_url="/static/vendor/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui.css", swagger_favicon_url="")

    return router


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Load the code tables once at start: otherwise the first requests of each worker all build them at once
    (under load that made the first second of a checkpoint's shift the slowest). Then move everything
    loaded so far (modules, tables, templates) out of the garbage collector's reach: its full collections
    no longer walk them, which shortened the slowest requests under load."""
    await run_in_threadpool(warm_checkpoint_flags)
    gc.collect()
    gc.freeze()
    yield


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the web application for the given settings (or the environment's)."""
    settings = settings or load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = FastAPI(
        title="fangkong API",
        version="1",
        description="Epidemic prevention and control platform. Authenticate with `POST /api/v1/auth/token`, "
        "then send `Authorization: Bearer <token>`. Errors are RFC 9457 problem JSON.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url)
    app.state.template_dirs = TEMPLATE_DIRS
    app.state.timeline_sources = TIMELINE_SOURCES
    app.state.presence = Presence(PresenceStore(settings.presence_dir), presence_sources(settings),
                                  settings.presence_sync_days,
                                  PLACE_NAMERS)
    profile = settings.protocol_profile
    app.state.status_listeners = (lambda s, u, pid, st: upgrade_secondaries(s, u, pid, st, profile),)
    app.state.nav = [item for _, _, nav in CAPABILITIES for item in nav]
    vendor = STATIC / "vendor"
    app.state.vendor_assets = {name: (vendor / f"{name}.min.js").exists() for name in ("htmx", "echarts")}
    for pages, api, _ in CAPABILITIES:
        if pages is not None:
            app.include_router(pages)
        if api is not None:
            app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(_docs_router(app))
    errors.install(app)
    middleware.install(app)
    registration_checkin.install(app)
    # outermost: the public check-in and the tablets' passages skip the stack above
    fastpath.install(app, registration_checkin.FAST_ROUTES + checkpoints_api.FAST_ROUTES)
    return app
