"""What tracing (流调溯源) contributes to the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fangkong.core.capability import Capability
from fangkong.tracing import api, cli, dispatch, figures, report_web, web
from fangkong.tracing.cases import upgrade_secondaries
from fangkong.tracing.sync import COMPACT_JOB, purge_presence


def _register_dispatch_jobs(app: Any) -> None:
    """Let the app's job runner run (and, after a crash, fail) the dispatches of contacts."""
    app.state.jobs.add(dispatch.JOB_KIND)


def _upgrade_listener(settings: Any) -> Any:
    """A close contact who turns positive upgrades its secondary contacts (edition 9)."""
    profile = settings.protocol_profile
    return lambda session, user, person_id, status: upgrade_secondaries(session, user, person_id, status, profile)


CAPABILITY = Capability(
    name="tracing",
    pages=(web.router, report_web.router),
    api=(api.router,),
    nav=tuple(web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.tracing.models",),
    status_listeners=(_upgrade_listener,),
    start=(_register_dispatch_jobs,),
    cli=(cli.register,),
    figures=figures.daily_figures,
    figure_kinds=figures.KINDS,
    jobs=(COMPACT_JOB,),
    retention=(purge_presence,),
)
