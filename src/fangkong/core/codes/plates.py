"""Vehicle plates (GA 36): province abbreviation + authority letter + 5 characters (6 for new energy).

The authority letter gives the registering prefecture (data/plates.csv, built by
tools/build_code_data.py; some prefixes there are patterns such as 京[A-Z]).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources

from fangkong.core.codes.errors import N_, SEPARATORS, CodeError, fold

PROVINCES = {
    "京": "北京市", "津": "天津市", "沪": "上海市", "渝": "重庆市", "冀": "河北省", "豫": "河南省", "云": "云南省",
    "辽": "辽宁省", "黑": "黑龙江省", "湘": "湖南省", "皖": "安徽省", "鲁": "山东省", "新": "新疆维吾尔自治区",
    "苏": "江苏省", "浙": "浙江省", "赣": "江西省", "鄂": "湖北省", "桂": "广西壮族自治区", "甘": "甘肃省",
    "晋": "山西省", "蒙": "内蒙古自治区", "陕": "陕西省", "吉": "吉林省", "闽": "福建省", "贵": "贵州省",
    "粤": "广东省", "青": "青海省", "藏": "西藏自治区", "川": "四川省", "宁": "宁夏回族自治区", "琼": "海南省",
}
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are never used after the authority letter (they look like 1 and 0)
SUFFIXES = "挂学警"  # trailer, learner, police: the last of the five characters
BORDER_PREFIX, BORDER_SUFFIXES = "粤Z", "港澳"  # cars crossing to Hong Kong or Macao: 粤Z1234港
DOTS = "·•・‧∙."  # the dot printed after the authority letter, as people type it

_ORDINARY = re.compile(rf"[{LETTERS}0-9]{{5}}|[{LETTERS}0-9]{{4}}[{SUFFIXES}]")
# Small new-energy plates: D or F at first (pure electric / other), since 2019 also A–K without I.
_NEW_ENERGY_SMALL = re.compile(rf"[A-HJK][{LETTERS}0-9][0-9]{{4}}")
_NEW_ENERGY_LARGE = re.compile(r"[0-9]{5}[DF]")
_BORDER = re.compile(rf"[{LETTERS}0-9]{{4}}[{BORDER_SUFFIXES}]")

UNKNOWN_PROVINCE = N_("A plate starts with a province abbreviation such as 甘 or 鄂.")
MALFORMED_PLATE = N_(
    "A plate number is a province abbreviation, a letter and 5 letters or digits (6 for a new-energy vehicle).")


@dataclass(frozen=True, slots=True)
class Plate:
    """A normalised plate and where it was registered."""

    number: str  # e.g. 鄂A12345, 鄂AD12345 (small new energy), 鄂A12345D (large new energy)
    province_abbr: str  # 鄂
    province: str  # 湖北省
    region: str | None  # registering prefecture from the plate table, e.g. 湖北省武汉市; None if not listed
    new_energy: bool


@functools.cache
def _regions() -> dict[str, str]:
    """Return the registering region of every listed two-character prefix (patterns expanded)."""
    text = resources.files("fangkong.core.codes").joinpath("data/plates.csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    next(reader)  # header
    regions: dict[str, str] = {}
    for prefix, region in reader:
        pattern = re.compile(prefix)
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            if pattern.fullmatch(prefix[0] + letter):
                regions.setdefault(prefix[0] + letter, region)  # the first row listed wins
    return regions


def _authority_ok(prefix: str) -> bool:
    """Return whether the second character can be an authority letter after this province.

    O is not issued to cities, but the table lists it for a few provincial traffic police offices.
    """
    letter = prefix[1]
    return letter in LETTERS or (letter == "O" and prefix in _regions())


def _new_energy(prefix: str, tail: str) -> bool:
    """Return whether the part after the authority letter is new-energy (6), else ordinary (5); or raise."""
    if len(tail) == 5 and (_ORDINARY.fullmatch(tail) or (prefix == BORDER_PREFIX and _BORDER.fullmatch(tail))):
        return False
    if len(tail) == 6 and (_NEW_ENERGY_SMALL.fullmatch(tail) or _NEW_ENERGY_LARGE.fullmatch(tail)):
        return True
    raise CodeError(MALFORMED_PLATE)


def normalize_plate(raw: str) -> Plate:
    """Return the plate with its registering province and prefecture, or raise CodeError.

    Accepts full-width characters, lowercase letters, spaces, dashes and the dot after the letter.
    """
    text = fold(raw, drop=SEPARATORS + DOTS).upper()
    if not text:
        raise CodeError(MALFORMED_PLATE)
    if text[0] not in PROVINCES:
        raise CodeError(UNKNOWN_PROVINCE)
    if len(text) < 2 or not _authority_ok(text[:2]):
        raise CodeError(MALFORMED_PLATE)
    new_energy = _new_energy(text[:2], text[2:])
    return Plate(number=text, province_abbr=text[0], province=PROVINCES[text[0]], region=_regions().get(text[:2]),
                 new_energy=new_energy)


def plate_region(raw: str) -> str | None:
    """Return where a plate was registered: its prefecture, else its province; None for an invalid plate."""
    try:
        plate = normalize_plate(raw)
    except CodeError:
        return None
    return plate.region or plate.province
