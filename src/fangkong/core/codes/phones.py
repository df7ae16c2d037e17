"""Mainland mobile numbers: 11 digits starting with 1; +86, 0086, spaces and dashes accepted."""

from __future__ import annotations

from fangkong.core.codes.errors import N_, CodeError, fold

NOT_MOBILE = N_("A mobile number has 11 digits and starts with 1.")


def normalize_mobile(raw: str) -> str:
    """Return the 11-digit mobile number, or raise CodeError."""
    text = fold(raw, drop=" -\t()")
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if len(text) != 11 or not text.isdigit() or text[0] != "1" or text[1] not in "3456789":
        raise CodeError(NOT_MOBILE)
    return text


def is_mobile(raw: str) -> bool:
    try:
        normalize_mobile(raw)
    except CodeError:
        return False
    return True


def mask_phone(number: str) -> str:
    """Return e.g. 138****1234."""
    return number[:3] + "*" * max(0, len(number) - 7) + number[-4:] if len(number) > 7 else "*" * len(number)
