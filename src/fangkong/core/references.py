"""Reference codes the public keeps (an arrival's receipt, a gathering, a pass application): short,
unguessable, and read aloud or copied without mistakes."""

from __future__ import annotations

import secrets

from fangkong.core.codes import fold

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
REFERENCE_LENGTH = 10


def new_reference() -> str:
    """Return a fresh reference code: 10 characters of a 31-letter alphabet (about 50 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalise_reference(raw: str) -> str:
    """Return a typed reference code without spaces and dashes, upper case ('' if it cannot be one)."""
    text = fold(raw or "", drop=" -_").upper()
    return text if len(text) == REFERENCE_LENGTH and all(ch in ALPHABET for ch in text) else ""


def show_reference(code: str) -> str:
    """Return the code as printed: two groups of five (ABCDE-FGHJK)."""
    return f"{code[:5]}-{code[5:]}"
