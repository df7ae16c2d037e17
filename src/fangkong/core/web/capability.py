"""What the shell contributes: login and home, administration, the audit pages, the core API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.access import PERSON_READ, can, restrict
from fangkong.core.audit_anchor import ANCHOR_JOB
from fangkong.core.capability import Capability, Tile
from fangkong.core.exports import EXPORT_PURGE_JOB
from fangkong.core.i18n import N_
from fangkong.core.imports import purge_jobs
from fangkong.core.models import Role, Unit, User
from fangkong.core.retention import PURGE_JOB
from fangkong.core.web import admin, api, audit_export, audit_pages, exports, field, imports, notices, ops, shell
from fangkong.core.web.limits import Upload


def _tiles(session: Session, user: User, _settings: Any) -> list[Tile]:
    units = restrict(select(func.count(Unit.id)), user, Unit.id)
    if user.role == Role.ADMIN:
        users = restrict(select(func.count(User.id)), user, User.unit_id)
        return [Tile(session.execute(units).scalar_one(), N_("Units"), "/admin/units"),
                Tile(session.execute(users).scalar_one(), N_("Users"), "/admin/users")]
    if user.role == Role.AUDITOR:
        return [Tile(N_("Audit log"), N_("Read the log and verify its hash chain"), "/audit")]
    if can(user, PERSON_READ):
        return [Tile(session.execute(units).scalar_one(), N_("Units in your jurisdiction"), "/people", order=91)]
    return []


CAPABILITY = Capability(
    name="shell",
    exports=audit_export.EXPORTS,
    pages=(shell.router, notices.router, admin.router, audit_pages.router, exports.router, imports.router, ops.router,
           field.router),
    api=(api.router, exports.api, imports.api),
    nav=(*admin.NAV, *audit_pages.NAV, *exports.NAV),
    models=("fangkong.core.models", "fangkong.core.audit", "fangkong.core.notify", "fangkong.core.exports",
            "fangkong.core.imports", "fangkong.core.riskareas"),
    tiles=_tiles,
    jobs=(ANCHOR_JOB, PURGE_JOB, EXPORT_PURGE_JOB),
    retention=(purge_jobs,),  # sheet import jobs and the files they leave
    uploads=(Upload(r"/api/v1/imports"),),
)
