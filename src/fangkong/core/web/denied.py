"""Audit of denied attempts (403, and 404 on objects), with a budget so a scan cannot flood the log.

A 404 for an object outside the user's jurisdiction must look like any other 404 (existence does not
leak), but it leaves a trace in the log (issue 17, finding 7). A scan of thousands of ids would
write thousands of rows: each actor gets `BURST` rows per window; beyond that, attempts are only
counted, and the next row written says how many were left out.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fangkong.core.audit import record
from fangkong.core.context import acting_as
from fangkong.core.errors import DomainError, Forbidden, NotFound

BURST = 10
WINDOW_SECONDS = 600.0


@dataclass
class _Budget:
    start: float
    written: int = 0
    suppressed: int = 0


@dataclass
class DeniedBudget:
    """Per-actor count of denied rows written in the current window (in memory, per process)."""

    burst: int = BURST
    window: float = WINDOW_SECONDS
    _budgets: dict[str, _Budget] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, who: str, now: float | None = None) -> int | None:
        """Return how many attempts were left out before this one if it may be written, else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            budget = self._budgets.get(who)
            if budget is None or now - budget.start >= self.window:
                left_out = budget.suppressed if budget else 0
                self._budgets[who] = _Budget(now, 1)
                if len(self._budgets) > 10_000:  # forget idle actors rather than grow without end
                    self._budgets = {k: v for k, v in self._budgets.items() if now - v.start < self.window}
                return left_out
            if budget.written < self.burst:
                budget.written += 1
                left_out, budget.suppressed = budget.suppressed, 0
                return left_out
            budget.suppressed += 1
            return None


def is_denial(exc: BaseException) -> bool:
    return isinstance(exc, Forbidden | NotFound)


def audit_denied(request: Any, actor: Any, exc: DomainError) -> None:
    """Write one `denied` audit row in its own transaction (the request's was rolled back), if in budget."""
    budget: DeniedBudget = request.app.state.denied_budget
    left_out = budget.admit(f"{actor.user_id}:{actor.ip}")
    if left_out is None:
        return
    with request.app.state.db.unit_of_work() as session, acting_as(actor):
        record(session, "denied", None, None, status=exc.status, method=request.method,
               path=request.url.path, left_out=left_out)
