"""The app with the first passage write path, the checkpoint benchmark's baseline: the ORM implementation
(`bench/checkpoints_orm_path.register_passage_orm`), one transaction per request in a worker thread, through the full
FastAPI stack (no fast path, no group commit).

Only the benchmark serves it (`uvicorn bench.checkpoints_orm_app:create_orm_app --factory`); the changes
below are made in that server's own processes.
"""

from __future__ import annotations

from typing import Any

from bench.checkpoints_orm_path import register_passage_orm
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from fangkong.app import create_app
from fangkong.checkpoints import api, passages
from fangkong.core.context import acting_as


class _OrmWriter:
    def __init__(self, app: Any) -> None:
        self.db = app.state.db

    async def register(self, request: passages.PassageRequest) -> passages.Registered:
        def write() -> passages.Registered:
            with self.db.unit_of_work() as session, acting_as(request.actor):
                user = session.merge(request.user, load=False)
                passage, created = register_passage_orm(session, user, request.checkpoint_id, request.data)
                session.flush()
                return passages.SavedPassage(
                    id=passage.id, client_id=passage.client_id, checkpoint_id=passage.checkpoint_id, at=passage.at,
                    plate=passage.plate, plate_region=passage.plate_region, origin=passage.origin,
                    destination=passage.destination, flags=passage.flags,
                    people=[passages.SavedPerson(id=x.id, person_id=x.person_id, name=x.name, id_number=x.id_number,
                                                 doc_type=x.doc_type, role=x.role, temperature_c=x.temperature_c,
                                                 disposition=x.disposition, flags=x.flags)
                            for x in passage.people]), created

        return await run_in_threadpool(write)


def create_orm_app() -> FastAPI:
    api.FAST_ROUTES.clear()  # through FastAPI's stack, as the first implementation was
    api.passage_writer = lambda app: _OrmWriter(app)  # type: ignore[assignment]
    return create_app()
