"""What public registration (arrivals, gatherings, venues and check-in) contributes to the platform."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fangkong.core.capability import Capability
from fangkong.registration import figures
from fangkong.registration.arrivals import api as arrival_api
from fangkong.registration.arrivals import exports as arrival_exports
from fangkong.registration.arrivals import web as arrival_web
from fangkong.registration.arrivals.timeline import arrival_entries
from fangkong.registration.gatherings import api as gathering_api
from fangkong.registration.gatherings import web as gathering_web
from fangkong.registration.gatherings.service import gathering_place_names, gathering_presence
from fangkong.registration.gatherings.timeline import gathering_entries
from fangkong.registration.retention import purge_registrations
from fangkong.registration.venues import api as venue_api
from fangkong.registration.venues import checkin
from fangkong.registration.venues import web as venue_web
from fangkong.registration.venues.cli import venues_app
from fangkong.registration.venues.presence import visit_place_names, visit_presence
from fangkong.registration.venues.timeline import visit_entries


def _drain_writer(app: Any) -> None:
    """Write the check-ins still queued before the process ends."""
    service = getattr(app.state, "checkin", None)
    if service is not None:
        service.writer.close()


CAPABILITY = Capability(
    name="registration",
    exports=arrival_exports.EXPORTS,
    pages=(checkin.router, arrival_web.router, gathering_web.router, venue_web.router),
    api=(arrival_api.router, gathering_api.router, venue_api.router),
    nav=(*arrival_web.NAV, *gathering_web.NAV, *venue_web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.registration.arrivals.models", "fangkong.registration.gatherings.models",
            "fangkong.registration.venues.models"),
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
