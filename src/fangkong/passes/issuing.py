"""Turning an approved pass into its signed token, and where the responsible unit is found."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.leads.dispatch import load_jurisdiction
from fangkong.passes.tokens import Claims, KeyRing


def subject_of(kind: str, plate: str | None, holder_name: str | None, holder_id_number: str | None) -> str:
    """Return what the token names: the plate, or the person's name and the last four of the ID number."""
    if kind == "vehicle":
        return plate or ""
    return f"{holder_name or ''} {(holder_id_number or '')[-4:]}".strip()


def sign_row(ring: KeyRing, row: dict[str, Any]) -> tuple[str, str]:
    """Return (key id, token) for a pass given as a row (id, kind, plate, holder…, valid_from, valid_until)."""
    kid = ring.current_id
    claims = Claims(kid, row["id"], row["kind"], row["valid_from"], row["valid_until"],
                    subject_of(row["kind"], row.get("plate"), row.get("holder_name"), row.get("holder_id_number")))
    return kid, ring.sign(claims)


def responsible_unit(session: Session, address: str | None, level: str) -> int:
    """Return the unit that decides on an application for this address, at the configured level
    (station, district or command); an address the city's tree does not place goes to the city."""
    jurisdiction = load_jurisdiction(session)
    placed = jurisdiction.locate(address)
    if level == "command" or placed.unit_id is None:
        return jurisdiction.city_unit_id
    if placed.kind == "station" and level == "district":
        return jurisdiction.parents.get(placed.unit_id) or jurisdiction.city_unit_id
    return placed.unit_id
