"""What leads (线索核查闭环) contribute to the platform."""

from __future__ import annotations

from pathlib import Path

from fangkong.core.capability import Capability, OfflinePage
from fangkong.core.scheduler import Job
from fangkong.core.web.limits import Upload
from fangkong.leads import api, exports, figures, imports, loops, web
from fangkong.leads.cli import leads_app
from fangkong.leads.tiles import home_tiles
from fangkong.leads.timeline import lead_entries

CAPABILITY = Capability(
    name="leads",
    exports=exports.EXPORTS,
    pages=(web.router,),
    api=(api.router,),
    nav=tuple(web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.leads.models",),
    timeline=(lead_entries,),
    jobs=(Job("leads.escalate", 60, loops.escalation_job), Job("leads.report_back", 60, loops.report_back_job)),
    cli=(lambda app, _platform: app.add_typer(leads_app, name="leads"),),
    figures=figures.daily_figures,
    figure_kinds=figures.KINDS,
    tiles=home_tiles,
    offline=(OfflinePage("/leads", frozenset({"command", "district", "station", "community"})),),  # verification
    uploads=(Upload(r"/leads/import"), Upload(r"/api/v1/leads/batches")),  # 20,000 leads as JSON: MBs
    imports=imports.IMPORTS,  # a big pushed sheet is read, previewed and taken in as a background job
)
