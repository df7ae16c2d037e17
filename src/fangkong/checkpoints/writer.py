"""Group commit for passages sent to the API (tablets, devices): concurrent requests are written in one
transaction by `passages.register_passages` (core.group_commit), each answered after the commit.

At a busy checkpoint many tablets send at once; one transaction per batch costs the statements, round
trips and audit-chain append of one passage, so the database work per passage falls as the load rises.
The web form and sheet imports write in their own request's transaction, as before.
"""

from __future__ import annotations

from typing import Any

from fangkong.checkpoints.passages import PassageRequest, Registered, register_passages
from fangkong.core.db import Database
from fangkong.core.errors import NotSavedTryAgain
from fangkong.core.group_commit import GroupCommit, NotSaved


class PassageWriter(GroupCommit[PassageRequest, Registered]):
    def __init__(self, db: Database, batch_max: int = 100) -> None:
        super().__init__(db, register_passages, "passage-writer", batch_max)  # type: ignore[arg-type]

    async def register(self, request: PassageRequest, timeout: float = 10.0) -> Registered:
        """Register one passage through the batch writer; a passage not committed says so (503)."""
        try:
            return await self.submit(request, timeout)
        except (TimeoutError, NotSaved) as exc:
            raise NotSavedTryAgain() from exc


def passage_writer(app: Any) -> PassageWriter:
    found = getattr(app.state, "passage_writer", None)
    if found is None:
        found = app.state.passage_writer = PassageWriter(app.state.db)  # drained by the capability's stop hook
    return found
