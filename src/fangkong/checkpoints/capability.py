"""What checkpoints (卡口查控) contribute to the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from fangkong.checkpoints import api, exports, figures, imports, pass_checks, web
from fangkong.checkpoints.flags import warm_up
from fangkong.checkpoints.presence import passage_place_names, passage_presence
from fangkong.checkpoints.retention import purge_passages
from fangkong.checkpoints.tiles import home_tiles
from fangkong.checkpoints.timeline import passage_entries
from fangkong.core.capability import Capability, OfflinePage
from fangkong.core.i18n import N_
from fangkong.core.web.limits import Upload


async def _warm(_app: Any) -> None:
    """Load the code tables once at start, not in the first requests of a shift."""
    await run_in_threadpool(warm_up)


def _drain_writer(app: Any) -> None:
    """Write what the passage writer still holds before the process ends."""
    writer = getattr(app.state, "passage_writer", None)
    if writer is not None:
        writer.close()


CAPABILITY = Capability(
    name="checkpoints",
    exports=exports.EXPORTS,
    pages=(web.router,),
    api=(api.router, pass_checks.router),
    nav=tuple(web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.checkpoints.models",),
    timeline=(passage_entries,),
    presence=(lambda _settings: passage_presence,),
    place_namers=(passage_place_names,),
    fast_routes=tuple(api.FAST_ROUTES),
    start=(_warm,),
    stop=(_drain_writer,),
    figures=figures.daily_figures,
    figure_kinds=figures.KINDS,
    tiles=home_tiles,
    offline=(OfflinePage("/checkpoints", frozenset({"checkpoint"})),),  # the passage form, at the roadside
    lookups=(("/api/v1/risk-areas", N_("Risk areas")),),
    uploads=(Upload(r"/checkpoints/[0-9]+/import"),),
    imports=imports.IMPORTS,  # a big passage sheet is read and registered as a background job
    retention=(purge_passages,),
)
