"""Cheap guards in front of the check-in hot path: the venue-code format and per-key token buckets.

Both run before any database access. The buckets live in the worker's memory (the embedded default):
with N uvicorn workers a client may get up to N times the rate, and a restart forgets the counts; a
deployment behind several machines puts the limit in its proxy as well (documented in README).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable

TOKEN_BYTES = 16  # 128 random bits: unguessable, however many codes a city prints
TOKEN_LENGTH = 22  # len(secrets.token_urlsafe(16))
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def new_token() -> str:
    """Return a fresh venue code (URL-safe, 22 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(text: str | None) -> bool:
    """Return whether `text` has the shape of a venue code (or a form nonce): checked before any lookup."""
    return bool(text) and len(text) == TOKEN_LENGTH and _TOKEN.fullmatch(text) is not None  # type: ignore[arg-type]


class TokenBucket:
    """Per-key token buckets: `capacity` requests at once, refilled at `per_second`.

    Memory is bounded: past `max_keys` keys, the full (idle) buckets are dropped first, then the oldest.
    """

    def __init__(self, capacity: float, per_second: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.per_second, self.max_keys, self.clock = float(capacity), per_second, max_keys, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def allow(self, key: str) -> bool:
        """Take one token for `key`; return False (and take nothing) when its bucket is empty."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.per_second)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._prune(now)
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def retry_after(self, key: str) -> int:
        """Return the seconds until `key` may try again (at least 1)."""
        tokens, _at = self._buckets.get(key, (self.capacity, 0.0))
        return max(1, int((1.0 - tokens) / self.per_second + 0.999))

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self.per_second >= self.capacity]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # all busy: forget the oldest half
            for key in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: self.max_keys // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
