"""Vehicle plates (GA 36): province abbreviation + authority letter + 5 characters (6 for new energy)."""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources

from fangkong.core.codes.errors import N_, CodeError, fold

PROVINCES = {
    "京": "北京市", "津": "天津市", "沪": "上海市", "渝": "重庆市", "冀": "河北省", "豫": "河南省", "云": "云南省",
    "辽": "辽宁省", "黑": "黑龙江省", "湘": "湖南省", "皖": "安徽省", "鲁": "山东省", "新": "新疆维吾尔自治区",
    "苏": "江苏省", "浙": "浙江省", "赣": "江西省", "鄂": "湖北省", "桂": "广西壮族自治区", "甘": "甘肃省",
    "晋": "山西省", "蒙": "内蒙古自治区", "陕": "陕西省", "吉": "吉林省", "闽": "福建省", "贵": "贵州省",
    "粤": "广东省", "青": "青海省", "藏": "西藏自治区", "川": "四川省", "宁": "宁夏回族自治区", "琼": "海南省",
}
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are not used
_ORDINARY = re.compile(rf"^[{LETTERS}0-9]{{4}}[{LETTERS}0-9挂学警]$")
_NEW_ENERGY_SMALL = re.compile(rf"^[DFABCEGHJK][{LETTERS}0-9][0-9]{{4}}$")
_NEW_ENERGY_LARGE = re.compile(r"^[0-9]{5}[DF]$")

UNKNOWN_PROVINCE = N_("A plate starts with a province abbreviation such as 甘 or 鄂.")
MALFORMED_PLATE = N_("This is not a valid plate number.")


@dataclass(frozen=True)
class Plate:
    number: str
    province_abbr: str
    province: str
    region: str | None  # registering prefecture, e.g. 湖北省武汉市
    new_energy: bool


@functools.cache
def _prefixes() -> tuple[tuple[re.Pattern[str], str], ...]:
    text = resources.files("fangkong.core.codes").joinpath("data/plates.csv").read_text(encoding="utf-8")
    return tuple((re.compile("^" + row["prefix"]), row["region"]) for row in csv.DictReader(io.StringIO(text)))


def normalize_plate(raw: str) -> Plate:
    """Return the plate with its registering province and prefecture, or raise CodeError."""
    text = fold(raw, drop=" -·•.\t").upper()
    if not text or text[0] not in PROVINCES:
        raise CodeError(UNKNOWN_PROVINCE)
    if len(text) < 2 or text[1] not in LETTERS:
        raise CodeError(MALFORMED_PLATE)
    tail = text[2:]
    if len(tail) == 5 and _ORDINARY.match(tail):
        new_energy = False
    elif len(tail) == 6 and (_NEW_ENERGY_SMALL.match(tail) or _NEW_ENERGY_LARGE.match(tail)):
        new_energy = True
    else:
        raise CodeError(MALFORMED_PLATE)
    region = next((name for pattern, name in _prefixes() if pattern.match(text[:2])), None)
    return Plate(number=text, province_abbr=text[0], province=PROVINCES[text[0]], region=region,
                 new_energy=new_energy)


def plate_region(raw: str) -> str | None:
    """Return the plate's registering prefecture (or province), or None if the plate is invalid."""
    try:
        plate = normalize_plate(raw)
    except CodeError:
        return None
    return plate.region or plate.province
