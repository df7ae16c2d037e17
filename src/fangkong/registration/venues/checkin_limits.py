"""Cheap guards in front of the check-in hot path: the venue-code format and per-key token buckets.

Both run before any database access. The buckets are `core.ratelimit.TokenBucket`: in Redis when
FANGKONG_REDIS_URL is set (every worker and machine counts together), else in the worker's memory.
"""

from __future__ import annotations

import re
import secrets

from fangkong.core.ratelimit import TokenBucket

TOKEN_BYTES = 16  # 128 random bits: unguessable, however many codes a city prints
TOKEN_LENGTH = 22  # len(secrets.token_urlsafe(16))
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def new_token() -> str:
    """Return a fresh venue code (URL-safe, 22 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(text: str | None) -> bool:
    """Return whether `text` has the shape of a venue code (or a form nonce): checked before any lookup."""
    return bool(text) and len(text) == TOKEN_LENGTH and _TOKEN.fullmatch(text) is not None  # type: ignore[arg-type]


__all__ = ["TOKEN_BYTES", "TOKEN_LENGTH", "TokenBucket", "is_token", "new_token"]
