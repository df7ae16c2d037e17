"""What green-channel passes (绿色通道通行证) contribute to the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core.access import can
from fangkong.core.capability import Capability, DayWindow, Figure, FigureKind, Tile
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.core.web.limits import Upload
from fangkong.passes import api, imports, public_web, staff_web, verification
from fangkong.passes.access import PASS_APPROVE, PERMISSIONS
from fangkong.passes.cli import passes_app
from fangkong.passes.service import pending_count


def _tiles(session: Session, user: User, _settings: Any) -> list[Tile]:
    if not can(user, PASS_APPROVE):
        return []
    waiting = pending_count(session, user)
    return [Tile(waiting, N_("Pass applications waiting"), "/passes?state=pending", alert=waiting > 0, order=40)]


def _figures(session: Session, window: DayWindow) -> list[Figure]:
    return verification.figures(session, window.start, window.end)


CAPABILITY = Capability(
    name="passes",
    pages=(public_web.router, staff_web.router),  # public first: /passes/apply before /passes/{pass_id}
    api=(api.router,),
    nav=tuple(staff_web.NAV),
    templates=Path(__file__).parent / "templates",
    permissions=PERMISSIONS,
    models=("fangkong.passes.models",),
    cli=(lambda app, _platform: app.add_typer(passes_app, name="passes"),),
    tiles=_tiles,
    lookups=(("/passes/keys.json", N_("Pass keys")), ("/passes/revoked.json", N_("Revoked passes"))),
    figures=_figures,
    figure_kinds=(FigureKind("passes.issued", N_("Passes issued"), N_("passes")),
                  FigureKind("passes.verified", N_("Passes verified at checkpoints"), N_("checks")),
                  FigureKind("passes.refused", N_("Passes refused at checkpoints"), N_("checks"))),
    uploads=(Upload(r"/passes/bulk/new"), Upload(r"/passes/apply", public=True)),
    imports=imports.IMPORTS,  # a big vehicle sheet is read and issued as a background job
)
