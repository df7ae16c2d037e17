"""Checking a pass at a checkpoint: the signature, the validity, the revocation, the plate; every check
recorded and counted per checkpoint and day; a pass seen at two checkpoints too far apart for the time
between is flagged (a copied QR code).

`check_token` is the part a tablet could do alone (decode, signature, revocation list, dates, plate);
`verify_pass` does it online against the database, which is authoritative (a revocation counts at once),
and records the outcome. Checkpoints call these (they sit above passes and never the other way round).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.codes import CodeError, normalize_plate
from fangkong.core.context import current_actor
from fangkong.core.db import utcnow
from fangkong.passes.issuing import subject_of
from fangkong.passes.models import Pass, PassApplication, PassVerification
from fangkong.passes.tokens import Claims, KeyRing, TokenError, extract

GREEN_LANE_MINUTES = 60  # a verification sends the vehicle to the green lane for this long (the same visit)
TRAVEL_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True)
class Checked:
    """What a pass check found: `outcome` is a key of rules.OUTCOMES; `params` fill its message."""

    outcome: str
    claims: Claims | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.outcome == "valid"


def same_plate(seen: str, issued: str) -> bool:
    try:
        return normalize_plate(seen).number == issued
    except CodeError:
        return False


def check_token(ring: KeyRing, text: str, plate: str, now: datetime, revoked: frozenset[int] | set[int]) -> Checked:
    """Check a token without the database: decode, signature, revocation list, validity, plate (the same
    rules the offline page applies in the browser)."""
    try:
        claims = ring.verify(extract(text))
    except TokenError as exc:
        return Checked(exc.outcome)
    if claims.pass_id in revoked:
        return Checked("revoked", claims)
    return _dates_and_plate(claims.kind, claims.subject, claims.valid_from, claims.valid_until, plate, now, claims)


def _dates_and_plate(kind: str, subject: str, start: datetime, end: datetime, plate: str, now: datetime,
                     claims: Claims | None) -> Checked:
    if now > end:
        return Checked("expired", claims)
    if now < start:
        return Checked("not_yet_valid", claims)
    if kind == "vehicle" and not same_plate(plate, subject):
        return Checked("plate_mismatch", claims, {"plate": subject})
    return Checked("valid", claims)


@dataclass(frozen=True)
class Verification:
    """A recorded verification, with what the officer needs to see."""

    id: int
    outcome: str
    params: dict[str, Any]
    pass_id: int | None
    kind: str | None = None
    subject: str | None = None
    company: str | None = None
    purpose: str | None = None
    valid_until: datetime | None = None
    flagged: bool = False
    gap_minutes: int | None = None

    @property
    def valid(self) -> bool:
        return self.outcome == "valid"

    @property
    def green_lane(self) -> bool:
        """A valid pass not flagged for impossible travel: the vehicle may take the green lane."""
        return self.valid and not self.flagged


@dataclass(frozen=True)
class Where:
    """Where and by whom a pass is checked (the checkpoint's id and unit come from checkpoints)."""

    checkpoint_id: int | None
    unit_id: int | None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class TravelRule:
    max_speed_kmh: float
    min_transfer_minutes: int


def verify_pass(session: Session, ring: KeyRing, text: str, plate: str, where: Where, rule: TravelRule,
                now: datetime | None = None) -> Verification:
    """Check a scanned token (or a typed pass number) online and record the verification."""
    now = now or utcnow()
    raw = extract(text)
    claims: Claims | None = None
    if raw.isdigit() and len(raw) <= 10:  # typed pass number: the database alone answers
        pass_id: int | None = int(raw)
    else:
        try:
            claims = ring.verify(raw)
            pass_id = claims.pass_id
        except TokenError as exc:
            return _record(session, now, where, plate, Checked(exc.outcome), None, None)
    found = session.execute(_pass_with_status(), {"id": pass_id}).first() if pass_id else None
    if found is None:
        return _record(session, now, where, plate, Checked("unknown", claims), None, None)
    row, status, company = found
    if claims is not None and row.token != raw:  # genuinely signed, but not this pass's token (an id reused)
        return _record(session, now, where, plate, Checked("unknown", claims), None, None)
    checked = _online(row, status, plate, now, claims)
    gap = _impossible_travel(session, row.id, where, now, rule) if checked.valid else None
    return _record(session, now, where, plate, checked, row, company, gap)


@functools.cache
def _pass_with_status() -> Any:
    from sqlalchemy import bindparam

    return (select(Pass, PassApplication.status, PassApplication.company)
            .join(PassApplication, PassApplication.id == Pass.application_id).where(Pass.id == bindparam("id")))


def _online(row: Pass, status: str, plate: str, now: datetime, claims: Claims | None) -> Checked:
    if status != "approved" or row.issued_at is None:
        return Checked("not_approved", claims)
    if row.revoked_at is not None:
        return Checked("revoked", claims)
    subject = subject_of(row.kind, row.plate, row.holder_name, row.holder_id_number)
    return _dates_and_plate(row.kind, subject, row.valid_from, row.valid_until, plate, now, claims)


def _impossible_travel(session: Session, pass_id: int, where: Where, now: datetime, rule: TravelRule) -> int | None:
    """Return the minutes since the pass was last let through at another checkpoint if no vehicle could have
    made the trip in that time (by distance when both checks carry a position, else a minimum transfer time)."""
    previous = session.execute(
        select(PassVerification.at, PassVerification.latitude, PassVerification.longitude)
        .where(PassVerification.pass_id == pass_id, PassVerification.outcome == "valid",
               PassVerification.at > now - TRAVEL_LOOKBACK, PassVerification.at <= now,
               PassVerification.checkpoint_id.is_not(None), PassVerification.checkpoint_id != where.checkpoint_id)
        .order_by(PassVerification.at.desc()).limit(1)).first()
    if previous is None or where.checkpoint_id is None:
        return None
    at, lat, lon = previous
    minutes = max(0.0, (now - at).total_seconds() / 60)
    if None not in (lat, lon, where.latitude, where.longitude):
        km = _distance_km(lat, lon, where.latitude, where.longitude)  # type: ignore[arg-type]
        impossible = km > rule.max_speed_kmh * minutes / 60
    else:
        impossible = minutes < rule.min_transfer_minutes
    return int(minutes) if impossible else None


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def _record(session: Session, now: datetime, where: Where, plate: str, checked: Checked, row: Pass | None,
            company: str | None, gap: int | None = None) -> Verification:
    seen = " ".join(plate.split()).upper()[:12] or None
    values = {"pass_id": row.id if row else None, "checkpoint_id": where.checkpoint_id, "unit_id": where.unit_id,
              "at": now, "outcome": checked.outcome, "plate_seen": seen, "latitude": where.latitude,
              "longitude": where.longitude, "impossible_travel": gap is not None, "gap_minutes": gap,
              "verified_by": current_actor.get().username[:64]}
    new_id = session.execute(insert(PassVerification).returning(PassVerification.id), values).scalar_one()
    audit.record(session, "verify", "passes", values["pass_id"], outcome=checked.outcome, verification=new_id,
                 checkpoint=where.checkpoint_id, flagged=gap is not None)
    if row is None:
        return Verification(new_id, checked.outcome, checked.params, None)
    return Verification(new_id, checked.outcome, checked.params, row.id, row.kind, row.plate or row.holder_name,
                        company, row.purpose, row.valid_until, gap is not None, gap)


def green_lane_allowed(session: Session, verification_id: int, checkpoint_id: int, plate: str | None,
                       now: datetime | None = None) -> bool:
    """Return whether a recorded verification lets this vehicle into the green lane at this checkpoint now:
    valid, not flagged, recent, at the same checkpoint and for the same plate."""
    now = now or utcnow()
    found = session.execute(select(PassVerification.plate_seen, Pass.kind, Pass.plate).join(
        Pass, Pass.id == PassVerification.pass_id).where(
        PassVerification.id == verification_id, PassVerification.checkpoint_id == checkpoint_id,
        PassVerification.outcome == "valid", PassVerification.impossible_travel.is_(False),
        PassVerification.at > now - timedelta(minutes=GREEN_LANE_MINUTES))).first()
    if found is None:
        return False
    _seen, kind, issued_plate = found
    return kind != "vehicle" or (plate is not None and plate == issued_plate)


# --- counts ------------------------------------------------------------------------------------------

def counts_by_checkpoint(session: Session, checkpoint_ids: list[int], start: datetime,
                         end: datetime) -> dict[int, tuple[int, int, int]]:
    """Return {checkpoint id: (valid, refused, flagged)} for verifications in [start, end)."""
    if not checkpoint_ids:
        return {}
    valid = PassVerification.outcome == "valid"
    rows = session.execute(select(
        PassVerification.checkpoint_id, func.count().filter(valid), func.count().filter(~valid),
        func.count().filter(PassVerification.impossible_travel)).where(
        PassVerification.checkpoint_id.in_(checkpoint_ids), PassVerification.at >= start,
        PassVerification.at < end).group_by(PassVerification.checkpoint_id)).all()
    return {cp: (v, r, f) for cp, v, r, f in rows if cp is not None}  # all are: IN never matches NULL


def recent_for_pass(session: Session, pass_id: int, limit: int = 50) -> list[PassVerification]:
    return list(session.execute(select(PassVerification).where(PassVerification.pass_id == pass_id)
                                .order_by(PassVerification.at.desc()).limit(limit)).scalars())


def figures(session: Session, start: datetime, end: datetime) -> list[tuple[int, str, int]]:
    """Return (unit id, key, value): passes issued per issuing unit, verified and refused per checkpoint unit."""
    issued = session.execute(select(Pass.unit_id, func.count()).where(
        Pass.issued_at >= start, Pass.issued_at < end).group_by(Pass.unit_id)).all()
    valid = PassVerification.outcome == "valid"
    checks = session.execute(select(PassVerification.unit_id, func.count().filter(valid),
                                    func.count().filter(~valid)).where(
        and_(PassVerification.at >= start, PassVerification.at < end, PassVerification.unit_id.is_not(None)))
        .group_by(PassVerification.unit_id)).all()
    rows = [(unit, "passes.issued", n) for unit, n in issued if n]
    for unit, ok, refused in checks:
        assert unit is not None  # the query left out verifications without a unit
        rows += [(unit, "passes.verified", ok)] if ok else []
        rows += [(unit, "passes.refused", refused)] if refused else []
    return rows
