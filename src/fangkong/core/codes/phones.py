"""Mainland mobile numbers: 11 digits, 1 then 3–9; +86, 0086, 86, spaces, dashes and full width accepted."""

from __future__ import annotations

import re

from fangkong.core.codes.errors import N_, SEPARATORS, CodeError, fold

_MOBILE = re.compile(r"1[3-9][0-9]{9}")  # ASCII digits only
_COUNTRY = re.compile(r"^(?:\+|00)?86(?=1[0-9]{10}$)")  # the country code, only in front of 11 digits

NOT_MOBILE = N_("A mobile number has 11 digits and starts with 1.")


def normalize_mobile(raw: str) -> str:
    """Return the 11-digit mobile number, or raise CodeError."""
    text = _COUNTRY.sub("", fold(raw, drop=SEPARATORS + "()"), count=1)
    if not _MOBILE.fullmatch(text):
        raise CodeError(NOT_MOBILE)
    return text


def is_mobile(raw: str) -> bool:
    """Return whether `raw` normalises to a mainland mobile number."""
    try:
        normalize_mobile(raw)
    except CodeError:
        return False
    return True


def mask_phone(number: str) -> str:
    """Return the number with all but its first three and last four digits hidden, e.g. 138****1234."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
