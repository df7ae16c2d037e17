"""The application factory: settings in, a FastAPI app out. Nothing is built at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from fangkong.capabilities import platform
from fangkong.core.capability import Platform
from fangkong.core.clock import configure_event_range
from fangkong.core.db import Database
from fangkong.core.exports import Exports
from fangkong.core.imports import Imports
from fangkong.core.jobs import JobRunner
from fangkong.core.logs import configure_logging
from fangkong.core.metrics import MetricsMiddleware
from fangkong.core.scheduler import Scheduler
from fangkong.core.settings import Settings, load_settings
from fangkong.core.shared import BUS
from fangkong.core.sheets import MB, SheetLimits, configure_limits
from fangkong.core.web import errors, limits, middleware, openapi
from fangkong.core.web.denied import DeniedBudget
from fangkong.tracing.cases import Presence
from fangkong.tracing.store import PresenceStore

STATIC = Path(__file__).resolve().parent / "core" / "web" / "static"

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
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the capabilities' start hooks (code tables warmed once, not in the first requests of a shift),
    then move everything loaded so far out of the garbage collector's reach: its full collections no
    longer walk them, which shortened the slowest requests under load. At shutdown the stop hooks drain
    the writers' queues (FastAPI runs no on_shutdown handlers when a lifespan is given)."""
    plat: Platform = app.state.platform
    settings = app.state.settings
    await plat.start(app)
    await run_in_threadpool(app.state.jobs.recover)  # jobs a killed worker of this host left "running"
    BUS.start()
    scheduler = Scheduler(app.state.db, settings, plat, settings.scheduler_tick_seconds)
    if settings.scheduler:
        scheduler.start()
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        scheduler.stop()
        BUS.stop()
        await plat.stop(app)
        await run_in_threadpool(app.state.jobs.shutdown)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the web application for the given settings (or the environment's)."""
    settings = settings or load_settings()
    configure_logging(settings.log_format)
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
    BUS.configure(settings.redis_url)
    configure_event_range(settings.earliest_event, settings.future_slack_hours)
    configure_limits(SheetLimits(settings.upload_max_mb * MB, settings.upload_max_inflated_mb * MB,
                                 settings.upload_max_rows, settings.upload_max_columns))
    app.state.db = db or Database(settings.database_url, audit_key=settings.audit_key)
    app.state.denied_budget = DeniedBudget()
    plat = app.state.platform = platform()
    plat.grant_permissions()
    app.state.template_dirs = plat.template_dirs
    app.state.timeline_sources = plat.timeline_sources
    app.state.person_panels = plat.person_panels
    app.state.presence = Presence(PresenceStore(settings.presence_dir), plat.presence_sources(settings),
                                  settings.presence_sync_days, plat.place_namers)
    app.state.status_listeners = plat.status_listeners(settings)
    app.state.nav = plat.nav
    app.state.jobs = JobRunner(app.state.db)  # one runner for the exports and imports users ask for
    app.state.exports = Exports(plat.exports, app.state.db, settings.export_dir, app.state.jobs)
    app.state.imports = Imports(plat.imports, app.state.db, settings, app.state.jobs)
    app.state.offline_roles = frozenset(role for page in plat.offline_pages for role in page.roles)
    app.state.lookups = dict(plat.lookups)  # path -> what the field bar calls it
    vendor = STATIC / "vendor"
    app.state.vendor_assets = {name: (vendor / f"{name}.min.js").exists() for name in ("htmx", "echarts")}
    for router in plat.routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(_docs_router(app))
    errors.install(app)
    openapi.install(app)
    middleware.install(app, plat.fast_routes)  # the hot routes are served inside the shell
    limits.install(app, plat.uploads)  # body limits before anything reads a body
    app.add_middleware(MetricsMiddleware)  # outermost: every request is timed (it reads no body)
    return app
