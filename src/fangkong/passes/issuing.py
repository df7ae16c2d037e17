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


def claims_of(kid: str, row: dict[str, Any]) -> Claims:
    """Return what the token of a pass (given as a row: id, kind, plate, holder…, validity) says."""
    return Claims(kid, row["id"], row["kind"], row["valid_from"], row["valid_until"],
                  subject_of(row["kind"], row.get("plate"), row.get("holder_name"), row.get("holder_id_number")))


def sign_row(ring: KeyRing, row: dict[str, Any]) -> tuple[str, str]:
    """Return (key id, token) for one pass given as a row."""
    kid = ring.current_id
    return kid, ring.sign(claims_of(kid, row))


def sign_rows(ring: KeyRing, rows: list[dict[str, Any]]) -> None:
    """Set key_id and token on many pass rows (ids already set), all with the current key."""
    kid, sign = ring.signer()
    for row in rows:
        row["key_id"], row["token"] = kid, sign(claims_of(kid, row))


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
