"""Resident ID numbers (GB 11643-1999): normalisation, 15→18 conversion, validation, parsing, masking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fangkong.core.codes.areas import Area, lookup_area
from fangkong.core.codes.errors import N_, CodeError, fold

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"  # ISO 7064 MOD 11-2: index = weighted sum mod 11
EARLIEST_BIRTH = date(1880, 1, 1)

WRONG_LENGTH = N_("An ID number has 18 characters (or 15 for old numbers).")
BAD_CHARACTERS = N_("An ID number has only digits, and X as its last character.")
BAD_BIRTH_DATE = N_("The birth date in the ID number is impossible.")
UNKNOWN_AREA = N_("The ID number starts with an unknown area code {code}.")
BAD_CHECK = N_("The last character of the ID number is wrong: it should be {expected}.")


@dataclass(frozen=True)
class ResidentId:
    number: str
    area_code: str
    birth_date: date
    sex: str  # "M" | "F"
    origin: Area | None  # where the number was issued: a hint, not a residence


def check_character(first17: str) -> str:
    """Return the check character for the first 17 digits."""
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def _birth(digits: str) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise CodeError(BAD_BIRTH_DATE) from None
    if not EARLIEST_BIRTH <= born <= date.today():
        raise CodeError(BAD_BIRTH_DATE)
    return born


def normalize_id_number(raw: str) -> str:
    """Return the 18-character form of an ID number, or raise CodeError saying what is wrong."""
    text = fold(raw, drop=" -\t").upper()
    if len(text) == 15:
        if not text.isdigit():
            raise CodeError(BAD_CHARACTERS)
        body = f"{text[:6]}19{text[6:]}"
        _birth(body[6:14])
        _area(body[:6])
        return body + check_character(body)
    if len(text) != 18:
        raise CodeError(WRONG_LENGTH)
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise CodeError(BAD_CHARACTERS)
    _birth(text[6:14])
    _area(text[:6])
    expected = check_character(text[:17])
    if text[17] != expected:
        raise CodeError(BAD_CHECK, expected=expected)
    return text


def _area(code: str) -> None:
    if lookup_area(code) is None:
        raise CodeError(UNKNOWN_AREA, code=code)


def parse_id_number(raw: str) -> ResidentId:
    """Return the parts of a valid ID number: area, birth date, sex and the issuing area."""
    number = normalize_id_number(raw)
    born = _birth(number[6:14])
    origin = lookup_area(number[:6], born.year) or lookup_area(number[:6])
    return ResidentId(number=number, area_code=number[:6], birth_date=born,
                      sex="M" if int(number[16]) % 2 else "F", origin=origin)


def is_valid_id_number(raw: str) -> bool:
    try:
        normalize_id_number(raw)
    except CodeError:
        return False
    return True


def mask_id_number(number: str) -> str:
    """Return e.g. 6201**********123X: the first and last four characters only."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
