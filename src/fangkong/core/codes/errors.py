"""The error every code module raises, and the one normalisation of raw input they all share."""

from __future__ import annotations

import functools
from typing import Any

# Full-width ASCII (U+FF01–FF5E) sits 0xFEE0 above ASCII; Chinese input methods produce it easily.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# What people and spreadsheets put between the parts of a number: spaces (also no-break and zero-width ones,
# which come with pasted cells), tabs, line breaks and the various dashes.
SEPARATORS = " \t\r\n\u00a0\u200b\ufeff-\u2010\u2011\u2012\u2013\u2014\u2212"


def N_(message: str) -> str:
    """Return `message` unchanged: marks a msgid for extraction (`pybabel extract -k N_`)."""
    return message


class CodeError(ValueError):
    """A code failed validation.

    `message` is an English sentence template and the gettext msgid; `params` fill its placeholders, so
    the caller can translate first and format after: `gettext(err.message).format(**err.params)`.
    """

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params) if params else message)

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds from the formatted text alone, losing the template and params on the way
        # through pickle (worker processes, caches).
        return _rebuild, (type(self), self.message, self.params)


def _rebuild(cls: type[CodeError], message: str, params: dict[str, Any]) -> CodeError:
    """Return a CodeError rebuilt from its template and params (for pickle)."""
    return cls(message, **params)


@functools.cache
def _table(drop: str) -> dict[int, int | None]:
    """Return the translation table folding full-width ASCII and deleting the characters in `drop`."""
    deleted = {ord(char) for char in drop}
    # translate() maps each character once, so the full-width twin of a dropped character is dropped directly.
    deleted |= {code for code, ascii_code in _FULL_WIDTH.items() if ascii_code in deleted}
    return _FULL_WIDTH | dict.fromkeys(deleted)


def fold(raw: str | None, drop: str = "") -> str:
    """Return `raw` with full-width ASCII folded to ASCII, trimmed, and the characters in `drop` removed.

    Full-width characters are folded before `drop` applies, so `drop="-"` also removes a full-width
    hyphen. Pass `SEPARATORS` to remove every kind of space and dash people type inside a number.
    """
    return (raw or "").translate(_table(drop)).strip()
