"""The app with the ORM passage write path (`service.register_passage_orm`), the checkpoint benchmark's baseline.

Only the benchmark serves it (`uvicorn bench.checkpoints_orm_app:create_orm_app --factory`): the routes
call `passages.register_passage`, which this factory points at the ORM implementation in its own process.
"""

from __future__ import annotations

from fastapi import FastAPI

from fangkong.app import create_app
from fangkong.checkpoints import passages, service


def create_orm_app() -> FastAPI:
    passages.register_passage = service.register_passage_orm  # type: ignore[assignment]
    return create_app()
