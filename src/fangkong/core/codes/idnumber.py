"""Resident ID numbers (GB 11643-1999): normalisation, 15→18 conversion, validation, parsing, masking.

An 18-character number is a 6-digit area code (GB/T 2260), an 8-digit birth date, a 3-digit sequence
(odd for men) and an ISO 7064 MOD 11-2 check character (0–9 or X). The 15-digit numbers issued before
1999 have a 2-digit year (19xx) and no check character.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fangkong.core.codes.areas import Area, lookup_area
from fangkong.core.codes.errors import N_, SEPARATORS, CodeError, fold

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11
CHECK = "10X98765432"  # ISO 7064 MOD 11-2: the check character for each weighted sum mod 11
EARLIEST_BIRTH = date(1880, 1, 1)
FIRST_ISSUE_YEAR = 1984  # the first resident ID cards; older people got their number with a later code
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_BODY = re.compile(r"[0-9]{17}")  # ASCII only: str.isdigit() would also accept e.g. ² or Arabic-Indic digits
_EIGHTEEN = re.compile(r"[0-9]{17}[0-9X]")
_FIFTEEN = re.compile(r"[0-9]{15}")

WRONG_LENGTH = N_("An ID number has 18 characters (or 15 for old numbers).")
BAD_CHARACTERS = N_("An ID number has only digits, and X as its last character.")
BAD_BIRTH_DATE = N_("The birth date in the ID number is impossible.")
UNKNOWN_AREA = N_("The ID number starts with an unknown area code {code}.")
BAD_CHECK = N_("The last character of the ID number is wrong: it should be {expected}.")


@dataclass(frozen=True, slots=True)
class ResidentId:
    """What a valid resident ID number says about its holder."""

    number: str  # 18 characters, uppercase X
    area_code: str
    birth_date: date
    sex: str  # "M" | "F"
    origin: Area | None  # the area that issued the number: a hint, not a residence


def check_character(first17: str) -> str:
    """Return the MOD 11-2 check character (0–9 or X) for the first 17 digits of a number."""
    if not _BODY.fullmatch(first17):
        raise ValueError(f"check_character needs 17 ASCII digits, not {first17!r}")
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def _today() -> date:
    """Return today's date in China, whatever the server's time zone."""
    return datetime.now(LOCAL_TZ).date()


def birth_date_of(digits: str) -> date:
    """Return the date in 8 digits YYYYMMDD if it can be a living holder's birth date, else raise CodeError."""
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise CodeError(BAD_BIRTH_DATE) from None
    if not EARLIEST_BIRTH <= born <= _today():
        raise CodeError(BAD_BIRTH_DATE)
    return born


def known_area(code: str) -> bool:
    """Return whether `code` was a GB/T 2260 code at any time in the table (1981–2024)."""
    return lookup_area(code) is not None


def checked_number(raw: str, area_ok: Callable[[str], bool] = known_area, legacy: bool = True) -> str:
    """Return the 18-character form of an ID-like number, or raise CodeError naming the first fault.

    Checks in the order a person fixes them: length, characters, birth date, area code, check
    character. `legacy` accepts 15-digit numbers; `area_ok` judges the first six digits (residence
    permits of Hong Kong, Macao and Taiwan residents use codes that are not in GB/T 2260).
    """
    text = fold(raw, drop=SEPARATORS).upper()
    if legacy and len(text) == 15:
        if not _FIFTEEN.fullmatch(text):
            raise CodeError(BAD_CHARACTERS)
        body = f"{text[:6]}19{text[6:]}"
        text = body + check_character(body)
        given = None  # a legacy number has no check character to be wrong
    elif len(text) == 18:
        if not _EIGHTEEN.fullmatch(text):
            raise CodeError(BAD_CHARACTERS)
        given = text[17]
    else:
        raise CodeError(WRONG_LENGTH)
    birth_date_of(text[6:14])
    if not area_ok(text[:6]):
        raise CodeError(UNKNOWN_AREA, code=text[:6])
    expected = check_character(text[:17])
    if given is not None and given != expected:
        raise CodeError(BAD_CHECK, expected=expected)
    return text


def birth_date_in(raw: str) -> date | None:
    """Return the birth date an invalid ID number still carries (a wrong check digit, a typo elsewhere, a
    number Excel cut to 15 significant digits), or None: what matching can still use of it."""
    digits = "".join(ch for ch in str(raw) if ch.isdigit() or ch in "xX")
    candidates = [digits[6:14]] if len(digits) >= 14 else []
    if len(digits) == 15:  # the old 15-digit number: YYMMDD, in the 1900s
        candidates = ["19" + digits[6:12]]
    for text in candidates:
        try:
            return birth_date_of(text)
        except CodeError:
            continue
    return None


def normalize_id_number(raw: str) -> str:
    """Return the 18-character form of a resident ID number, or raise CodeError saying what is wrong.

    Accepts full-width characters, spaces, dashes, a lowercase x and the 15-digit legacy form.
    """
    return checked_number(raw)


def is_valid_id_number(raw: str) -> bool:
    """Return whether `raw` normalises to a valid resident ID number."""
    try:
        normalize_id_number(raw)
    except CodeError:
        return False
    return True


def origin_of(number: str, born: date) -> Area | None:
    """Return the area that issued a number: its code as valid when issued, else any period of it.

    The issue year is unknown, so take the birth year, but no earlier than the first ID cards: a number
    for someone born in 1949 carries a code in use in the 1980s or later.
    """
    code = number[:6]
    return lookup_area(code, max(born.year, FIRST_ISSUE_YEAR)) or lookup_area(code)


def parse_id_number(raw: str) -> ResidentId:
    """Return the parts of a valid resident ID number: area code, birth date, sex and issuing area."""
    number = normalize_id_number(raw)
    born = birth_date_of(number[6:14])
    return ResidentId(number=number, area_code=number[:6], birth_date=born,
                      sex="M" if int(number[16]) % 2 else "F", origin=origin_of(number, born))


def mask_id_number(number: str) -> str:
    """Return the number with its area code and birth date hidden together, e.g. **************123X.

    The masking policy (issue 17): what a masked number keeps must not rebuild it with anything shown
    beside it. Keeping the first four characters (province and city) left only the county to guess, and a
    birth date shown beside it plus the check character gave the number back in 106 of 144 cases. So the
    whole area code and birth date are hidden, and screens that show a masked number show an age band
    (`age_band`), never the birth date. The sequence and check character stay: officers read them out to
    tell two people apart.
    """
    if len(number) <= 8:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


AGE_BAND_YEARS = 10


def age_band(born: date | None, today: date | None = None) -> str:
    """Return the ten-year age band of a birth date, e.g. "30–39", or "" when unknown.

    Shown instead of the birth date wherever an ID number is masked: a band leaves thousands of dates,
    so the check character cannot pick the one that rebuilds the number.
    """
    if born is None:
        return ""
    today = today or _today()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    low = max(0, age) // AGE_BAND_YEARS * AGE_BAND_YEARS
    return f"{low}–{low + AGE_BAND_YEARS - 1}"
