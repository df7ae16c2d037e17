"""Shared steps of the deployment tests: ids of the demo personas, a post and its shifts over the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.models import User


def user(db, username: str) -> User:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        found = s.execute(select(User).where(User.username == username)).unique().scalar_one()
        s.expunge(found)
        return found


def local(day_offset: int, hour: int) -> datetime:
    today = datetime.now(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=day_offset, hours=hour)


def add_post(client, headers: dict[str, str], unit_id: int, name: str = "测试卡点", strength: int = 2,
             kind: str = "checkpoint") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/deployments/posts", headers=headers, json={
        "name": name, "kind": kind, "unit_id": unit_id, "required_strength": strength, "chief_name": "卡长甲"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def add_shift(client, headers: dict[str, str], post_id: int, starts: datetime, ends: datetime,
              members: list[dict[str, Any]], label: str = ""):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/deployments/posts/{post_id}/shifts", headers=headers, json={
        "day": starts.date().isoformat(), "starts_at": starts.isoformat(), "ends_at": ends.isoformat(),
        "label": label, "members": members})
