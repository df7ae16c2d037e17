"""Cheap guards in front of the check-in hot path: the venue-code format, checked before any database access
(the per-device and per-IP limits are `core.ratelimit.TokenBucket`s, in `checkin.CheckinService`)."""

from __future__ import annotations

import re
import secrets

TOKEN_BYTES = 16  # 128 random bits: unguessable, however many codes a city prints
TOKEN_LENGTH = 22  # len(secrets.token_urlsafe(16))
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def new_token() -> str:
    """Return a fresh venue code (URL-safe, 22 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(text: str | None) -> bool:
    """Return whether `text` has the shape of a venue code (or a form nonce): checked before any lookup."""
    return bool(text) and len(text) == TOKEN_LENGTH and _TOKEN.fullmatch(text) is not None  # type: ignore[arg-type]
