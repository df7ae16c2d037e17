"""The error every code module raises, and the one normalisation of raw input they all share."""

from __future__ import annotations

from typing import Any

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


class CodeError(ValueError):
    """A code failed validation. `message` is an English template (a gettext msgid); `params` fill it."""

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params) if params else message)


def fold(raw: str, drop: str = "") -> str:
    """Return `raw` with full-width ASCII folded to ASCII, trimmed, and the characters in `drop` removed."""
    text = (raw or "").translate(_FULL_WIDTH).strip()
    for char in drop:
        text = text.replace(char, "")
    return text


def N_(message: str) -> str:
    return message
