"""What deployments (警力部署, 涉疫案件, 督导) contributes to the platform."""

from __future__ import annotations

from pathlib import Path

from fangkong.core.capability import Capability
from fangkong.deployments import api, case_api, case_web, figures, web
from fangkong.deployments.rules import PERMISSIONS

CAPABILITY = Capability(
    name="deployments",
    pages=(web.router, case_web.router),
    api=(api.router, case_api.router),
    nav=(*web.NAV, *case_web.NAV),
    templates=Path(__file__).parent / "templates",
    permissions=PERMISSIONS,
    models=("fangkong.deployments.models",),
    tiles=figures.tiles,
    figures=figures.day_figures,
    figure_kinds=figures.FIGURE_KINDS,
)
