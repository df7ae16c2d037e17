"""A small in-memory rate limiter for the public forms (registration, passes): at most N hits per key within a
sliding window.

One per app (kept on app.state), per process: with several workers each counts for itself, which
still bounds a single client. Memory is bounded: past `max_keys` the oldest keys are dropped.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import Request

from fangkong.core.errors import TooManyAttempts
from fangkong.core.i18n import N_

SLOW_DOWN = N_("Too many forms from this network. Please wait {minutes} minutes and try again.")


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_keys, self.clock = limit, window_seconds, max_keys, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int | None = None) -> float:
        """Count one hit for `key` (at most `limit`, default the limiter's); return 0 if allowed, else the
        seconds until the next one is."""
        limit = limit or self.limit
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._hits[key] = hits  # most recently used last
            if len(hits) >= limit:
                return hits[0] + self.window - now
            hits.append(now)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return 0.0


def limiter(request: Request) -> RateLimiter:
    """Return the app's public-form limiter, made on first use from the settings."""
    state = request.app.state
    found: RateLimiter | None = getattr(state, "registration_limiter", None)
    if found is None:
        settings = state.settings
        found = RateLimiter(settings.registration_rate_limit, settings.registration_rate_window_seconds)
        state.registration_limiter = found
    return found


def check_rate(request: Request, form: str, factor: int = 1) -> None:
    """Raise TooManyAttempts when this client IP has sent too many public forms of this kind.

    `factor` widens the limit for forms many people send from one network (guests of a wedding on
    the venue's Wi-Fi share one address).
    """
    ip = request.client.host if request.client else "-"
    found = limiter(request)
    wait = found.hit(f"{form}|{ip}", found.limit * factor)
    if wait > 0:
        minutes = max(1, int(wait // 60) + 1)
        raise TooManyAttempts(SLOW_DOWN, retry_after=int(wait) + 1, minutes=minutes)
