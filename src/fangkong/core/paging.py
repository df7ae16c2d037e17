"""One page of a list: counted and sliced in the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def paginate(session: Session, stmt: Select[Any], page: int, page_size: int) -> Page[Any]:
    """Return page `page` (from 1) of the statement's rows, with the total count; `stmt` must be ordered."""
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    page = max(1, page)
    rows = list(session.execute(stmt.offset((page - 1) * page_size).limit(page_size)).unique().scalars())
    return Page(rows, total, page, page_size)
