"""The audit log's Excel export for the auditor, with the audit page's filters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from fangkong.core.access import AUDIT_READ
from fangkong.core.audit import AuditEntry, AuditFilter, audit_query
from fangkong.core.clock import local_naive, parse_day
from fangkong.core.exports import ExportSpec
from fangkong.core.i18n import N_
from fangkong.core.models import User


def _filter(params: Mapping[str, str]) -> AuditFilter:
    return AuditFilter(params.get("username", ""), params.get("action", ""), params.get("object_type", ""),
                       params.get("object_id", ""), parse_day("since", params.get("since", "")),
                       parse_day("until", params.get("until", ""), end=True))


def _count(session: Session, _user: User, params: Mapping[str, str]) -> int:
    found = audit_query(_filter(params)).order_by(None).with_only_columns(func.count(AuditEntry.id))
    return int(session.execute(found).scalar_one())


def _rows(session: Session, _user: User, params: Mapping[str, str], _reveal: bool) -> Iterator[list[Any]]:
    stmt = audit_query(_filter(params)).with_only_columns(
        AuditEntry.id, AuditEntry.at, AuditEntry.username, AuditEntry.role, AuditEntry.action, AuditEntry.object_type,
        AuditEntry.object_id, AuditEntry.purpose, AuditEntry.ip, AuditEntry.request_id, AuditEntry.detail,
        AuditEntry.hash)
    for row in session.execute(stmt.execution_options(yield_per=2000)):
        entry_id, at, *rest = row
        yield [entry_id, local_naive(at), *rest]


AUDIT_LOG = ExportSpec(
    key="shell.audit_log", title=N_("Audit log"), permission=AUDIT_READ,
    columns=(N_("Entry"), N_("Time"), N_("User"), N_("Role"), N_("Action"), N_("Object"), N_("Object id"),
             N_("Purpose"), N_("IP address"), N_("Request"), N_("Detail"), N_("Hash")),
    params=("username", "action", "object_type", "object_id", "since", "until"), count=_count, rows=_rows,
    personal=False)

EXPORTS = (AUDIT_LOG,)
