"""Staff use cases on passes: lists and one pass in the jurisdiction, decisions in bulk, revocation,
the public key and revocation documents the tablets cache, and the sheet export."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import require, restrict
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from fangkong.core.models import User
from fangkong.core.paging import Page, paginate
from fangkong.core.sheets import text_cells
from fangkong.passes.access import PASS_APPROVE, PASS_READ, PASS_REVOKE
from fangkong.passes.applications import Decision, check_decision, decide
from fangkong.passes.models import Pass, PassApplication
from fangkong.passes.rules import ALREADY_REVOKED, CHOOSE_APPLICATIONS, NOT_ISSUED, PURPOSES, REASON_NEEDED
from fangkong.passes.tokens import KeyRing


def pass_state(row: Pass, application_status: str, now: datetime | None = None) -> str:
    """Return the state staff and the applicant see: pending, refused, revoked, not yet valid, expired, valid."""
    now = now or utcnow()
    if application_status != "approved" or row.issued_at is None:
        return "refused" if application_status == "refused" else "pending"
    if row.revoked_at is not None:
        return "revoked"
    if now < row.valid_from:
        return "not_yet_valid"
    return "expired" if now > row.valid_until else "valid"


def visible_applications(user: User) -> Select[PassApplication]:
    return restrict(select(PassApplication), user, PassApplication.unit_id)


def list_applications(session: Session, user: User, status: str, page: int, size: int) -> Page[PassApplication]:
    """Return the applications of the jurisdiction in a state (pending first-come first-served)."""
    require(user, PASS_READ)
    stmt = visible_applications(user)
    if status:
        stmt = stmt.where(PassApplication.status == status)
    order = PassApplication.id.asc() if status == "pending" else PassApplication.id.desc()
    found = paginate(session, stmt.order_by(order), page, size)
    audit.record(session, "list", "pass_applications", None, status=status, results=len(found.rows))
    return found


def get_application(session: Session, user: User, application_id: int, action: str = PASS_READ) -> PassApplication:
    require(user, action)
    found = session.execute(visible_applications(user).where(PassApplication.id == application_id)
                            ).scalar_one_or_none()
    if found is None:
        raise NotFound()
    audit.record(session, "read", "pass_applications", found.id)
    return found


def get_pass(session: Session, user: User, pass_id: int, action: str = PASS_READ) -> Pass:
    require(user, action)
    found = session.execute(restrict(select(Pass).where(Pass.id == pass_id), user, Pass.unit_id)).scalar_one_or_none()
    if found is None:
        raise NotFound()
    audit.record(session, "read", "passes", found.id)
    return found


def decide_one(session: Session, user: User, ring: KeyRing, application_id: int, decision: Decision) -> PassApplication:
    application = get_application(session, user, application_id, PASS_APPROVE)
    decide(session, user, ring, application, decision)
    return application


@dataclass(frozen=True)
class BulkOutcome:
    decided: list[int]
    skipped: list[int]  # already decided by someone else, or outside the jurisdiction


def decide_many(session: Session, user: User, ring: KeyRing, ids: list[int], decision: Decision) -> BulkOutcome:
    """Apply one decision (with each application's own validity) to many applications; those already
    decided or not visible are skipped and named, the rest decided in this one transaction."""
    require(user, PASS_APPROVE)
    errors = check_decision(decision)
    if not ids:
        errors.append(FieldError("ids", CHOOSE_APPLICATIONS))
    if errors:
        raise ValidationFailed(errors)
    found = {a.id: a for a in session.execute(visible_applications(user).where(
        PassApplication.id.in_(ids[:500]), PassApplication.status == "pending")).scalars()}
    decided, skipped = [], []
    for application_id in dict.fromkeys(ids[:500]):
        application = found.get(application_id)
        if application is None:
            skipped.append(application_id)
            continue
        try:
            with session.begin_nested():
                decide(session, user, ring, application, Decision(decision.approve, decision.reason))
            decided.append(application_id)
        except DomainError:
            skipped.append(application_id)
    return BulkOutcome(decided, skipped)


def revoke(session: Session, user: User, pass_id: int, reason: str) -> Pass:
    """Revoke an issued pass at once (compare-and-swap: revoked once, by one officer)."""
    found = get_pass(session, user, pass_id, PASS_REVOKE)
    if not reason.strip():
        raise ValidationFailed.one("reason", REASON_NEEDED)
    if found.issued_at is None:
        raise Conflict(NOT_ISSUED)
    changed = rowcount(session.execute(update(Pass).where(Pass.id == found.id, Pass.revoked_at.is_(None)).values(
        revoked_at=utcnow(), revoked_by=user.username, revoke_reason=" ".join(reason.split())[:500])))
    if not changed:
        raise Conflict(ALREADY_REVOKED)
    session.refresh(found)
    audit.record(session, "revoke", "passes", found.id, reason=found.revoke_reason)
    return found


def list_passes(session: Session, user: User, query: str, page: int, size: int) -> Page[Pass]:
    """Return issued passes of the jurisdiction, newest first, by plate if one is asked for."""
    require(user, PASS_READ)
    stmt = restrict(select(Pass).where(Pass.issued_at.is_not(None)), user, Pass.unit_id)
    if query.strip():
        stmt = stmt.where(Pass.plate.startswith(query.strip().upper(), autoescape=True))
    found = paginate(session, stmt.order_by(Pass.id.desc()), page, size)
    audit.record(session, "list", "passes", None, query=query.strip()[:20], results=len(found.rows))
    return found


def pending_count(session: Session, user: User) -> int:
    return session.execute(restrict(select(func.count(PassApplication.id)).where(
        PassApplication.status == "pending"), user, PassApplication.unit_id)).scalar_one()


# --- what the tablets cache ------------------------------------------------------------------------

def keys_document(session: Session, ring: KeyRing) -> dict[str, Any]:
    """Return the public keys that still verify a pass: the current key, and each older key while a pass
    it signed is not yet expired (with that pass's end, after which tablets may drop it)."""
    import base64

    current = ring.current_id
    ends = dict(session.execute(select(Pass.key_id, func.max(Pass.valid_until)).where(
        Pass.key_id.is_not(None), Pass.valid_until > utcnow()).group_by(Pass.key_id)).all())
    keys = []
    for kid, raw in ring.public_keys().items():
        if kid != current and kid not in ends:
            continue
        until = None if kid == current else ends[kid].isoformat()
        keys.append({"kid": kid, "alg": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
                     "current": kid == current, "until": until})
    return {"keys": keys, "generated_at": utcnow().isoformat()}


def revoked_document(session: Session) -> dict[str, Any]:
    """Return the ids of revoked passes that would otherwise still be valid (expired ones need no listing)."""
    ids = list(session.execute(select(Pass.id).where(Pass.revoked_at.is_not(None), Pass.valid_until > utcnow())
                               .order_by(Pass.id)).scalars())
    return {"revoked": ids, "generated_at": utcnow().isoformat()}


# --- export and retention --------------------------------------------------------------------------

EXPORT_HEADERS = ("通行证编号", "类型", "车牌号", "持证人", "单位", "事由", "路线", "有效期起", "有效期止", "状态")
EXPORT_STATES = {"valid": "有效", "expired": "已过期", "revoked": "已撤销", "not_yet_valid": "未生效",
                 "pending": "待审批", "refused": "未批准"}
EXPORT_LIMIT = 100_000


def export_sheet(session: Session, user: User) -> tuple[bytes, int]:
    """Return the jurisdiction's issued passes as .xlsx (newest first), every text cell formula-safe."""
    from openpyxl import Workbook

    from fangkong.core.clock import local_time

    require(user, PASS_READ)
    rows = session.execute(restrict(select(Pass, PassApplication.company, PassApplication.status).join(
        PassApplication, PassApplication.id == Pass.application_id).where(Pass.issued_at.is_not(None)), user,
        Pass.unit_id).order_by(Pass.id.desc()).limit(EXPORT_LIMIT)).all()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("通行证")
    sheet.append(list(EXPORT_HEADERS))
    now = utcnow()
    for row, company, status in rows:
        sheet.append(text_cells(sheet, [
            row.id, "车辆" if row.kind == "vehicle" else "人员", row.plate or "", row.holder_name or "", company,
            PURPOSES_ZH.get(row.purpose, row.purpose), row.route, local_time(row.valid_from, "%Y-%m-%d"),
            local_time(row.valid_until, "%Y-%m-%d"), EXPORT_STATES[pass_state(row, status, now)]]))
    out = io.BytesIO()
    book.save(out)
    audit.record(session, "export", "passes", None, rows=len(rows))
    return out.getvalue(), len(rows)


PURPOSES_ZH = {"daily_supplies": "生活物资", "medical_supplies": "医疗物资", "resumption": "复工复产",
               "medical_staff": "医护人员", "other": "其他"}
assert PURPOSES_ZH.keys() == PURPOSES.keys()


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete applications (and their passes) past their retention date; return how many applications."""
    now = now or utcnow()
    ids = list(session.execute(select(PassApplication.id).where(PassApplication.purge_after <= now)).scalars())
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        session.execute(delete(Pass).where(Pass.application_id.in_(chunk)))
        session.execute(delete(PassApplication).where(PassApplication.id.in_(chunk)))
    audit.record(session, "purge", "pass_applications", None, applications=len(ids))
    return len(ids)
