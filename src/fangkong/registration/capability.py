"""What public registration (arrivals, gatherings, venues and check-in) contributes to the platform."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fangkong.core.capability import Capability
from fangkong.registration import (
    arrival_web,
    checkin,
    exports,
    figures,
    gathering_web,
    registration_api,
    venue_api,
    venue_web,
)
from fangkong.registration.gatherings import gathering_place_names, gathering_presence
from fangkong.registration.retention import purge_registrations
from fangkong.registration.timeline import arrival_entries, gathering_entries
from fangkong.registration.venue_cli import venues_app
from fangkong.registration.venue_timeline import visit_entries
from fangkong.registration.visit_presence import visit_place_names, visit_presence


def _drain_writer(app: Any) -> None:
    """Write the check-ins still queued before the process ends."""
    service = getattr(app.state, "checkin", None)
    if service is not None:
        service.writer.close()


CAPABILITY = Capability(
    name="registration",
    exports=exports.EXPORTS,
    pages=(checkin.router, arrival_web.router, gathering_web.router, venue_web.router),
    api=(registration_api.router, venue_api.router),
    nav=(*arrival_web.NAV, *gathering_web.NAV, *venue_web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.registration.models",),
    timeline=(arrival_entries, gathering_entries, visit_entries),
    presence=(lambda s: partial(visit_presence, assumed_stay_minutes=s.visit_assumed_stay_minutes),
              lambda _s: gathering_presence),
    place_namers=(visit_place_names, gathering_place_names),
    fast_routes=tuple(checkin.FAST_ROUTES),
    cli=(lambda app, _platform: app.add_typer(venues_app, name="venues"),),
    stop=(_drain_writer,),
    figures=figures.daily_figures,
    figure_kinds=figures.KINDS,
    retention=(purge_registrations,),
)
