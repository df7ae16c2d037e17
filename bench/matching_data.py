"""Generated person files and incoming records with planted near-duplicates, for the matching benchmark
and the precision test: every incoming record carries the id of the file it truly belongs to (or None).

Planted kinds (the issue's list): exact ID; traditional characters; a homophone typo (the usual slip of a
pinyin input method) or another one-character typo; two digits of the ID number swapped (the number
then fails its check and is dropped, the birth date read from it may be off); a missing ID number;
address written differently. And the hard negatives precision is about: a different person with the same
name and birth date (another valid ID, or none and another address); a twin-like homophone sibling at the
same address and phone.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import opencc
from pypinyin import lazy_pinyin

from fangkong.core.codes import check_character, is_valid_id_number
from fangkong.people.folding import name_key, surname_key
from fangkong.people.matching import IncomingRecord

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕鹏辉建国志斌宇浩凯健俊帆帅旭宁龙林欣"
         "佳琪晨阳博文思雨嘉怡梓涵子轩浩然宇航一诺雅婷晓东海波春梅丹凤金凤秀兰淑珍德福永福荣华丽娟慧敏立新振华"
         "卫东红梅建军建华国强国庆玉兰桂兰桂芳秀珍凤英玉珍秀云建平小红小明小龙云飞天佑瑞祥锦程宏伟鸿飞")
DISTRICTS = (("620102", "城关区", ("酒泉路", "张掖路", "皋兰路", "东岗西路", "雁滩路")),
             ("620103", "七里河区", ("西站东路", "敦煌路", "建兰路", "五里铺")),
             ("620104", "西固区", ("陈坪", "福利路", "西固城")),
             ("620105", "安宁区", ("培黎", "刘家堡", "十里店")))
_S2T = opencc.OpenCC("s2t")


@dataclass(frozen=True)
class Planted:
    record: IncomingRecord
    truth: int | None  # the file's position in the generated files (its id is position + first id)
    kind: str


def _homophones() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for ch in dict.fromkeys(GIVEN):
        groups[lazy_pinyin(ch)[0]].append(ch)
    pool = "薇玮炜蔚卫维巍为威芳方舫访娜纳秀绣英莹瑛颖敏闽静晶菁婧丽莉俐力强蔷磊蕾垒军君钧均洋阳扬杨勇永咏艳燕焰杰洁捷"
    for ch in pool:
        groups[lazy_pinyin(ch)[0]].append(ch)
    return {ch: [o for o in groups[lazy_pinyin(ch)[0]] if o != ch] for ch in set(GIVEN) | set(pool)}


HOMOPHONES = _homophones()


def _name(rng: random.Random) -> str:
    surname = SURNAMES[min(int(rng.paretovariate(1.2)) - 1, len(SURNAMES) - 1)] if rng.random() < 0.6 \
        else rng.choice(SURNAMES)
    given = rng.choice(GIVEN) if rng.random() < 0.25 else rng.choice(GIVEN) + rng.choice(GIVEN)
    return surname + given


def _address(rng: random.Random) -> tuple[str, str]:
    code, district, roads = rng.choice(DISTRICTS)
    return code, (f"甘肃省兰州市{district}{rng.choice(roads)}街道{rng.randint(1, 400)}号{rng.randint(1, 30)}栋"
                  f"{rng.randint(1, 6)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室")


def _id_number(area: str, born: date, male: bool, rng: random.Random) -> str:
    seq = rng.randrange(0, 999) // 2 * 2 + (1 if male else 0)
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    return body + check_character(body)


def make_files(count: int, unit_id: int, seed: int = 5) -> list[dict[str, object]]:
    """Return `count` person-file rows ready for a Core insert (ID numbers unique, keys computed)."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    start = date(1940, 1, 1)
    while len(rows) < count:
        name = _name(rng)
        born = start + timedelta(days=rng.randrange(0, 365 * 65))
        male = rng.random() < 0.5
        area, address = _address(rng)
        number = _id_number(area, born, male, rng) if rng.random() < 0.85 else None
        if number is not None:
            if number in seen:
                continue
            seen.add(number)
        phone = f"1{rng.choice('3578')}{rng.randrange(0, 10**9):09d}" if rng.random() < 0.7 else None
        rows.append({"name": name, "name_key": name_key(name), "surname_key": surname_key(name), "id_number": number,
                     "phone": phone, "sex": "M" if male else "F", "birth_date": born, "current_address": address,
                     "area_code": area, "unit_id": unit_id, "unconfirmed": False})
    return rows


def _typo(name: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(name))
    options = HOMOPHONES.get(name[at]) or []
    if options and rng.random() < 0.8:
        return name[:at] + rng.choice(options) + name[at + 1:]
    return name[:at] + rng.choice([c for c in GIVEN if c != name[at]]) + name[at + 1:]


def _swap(digits: str, rng: random.Random, lo: int = 0, hi: int | None = None) -> str:
    hi = len(digits) - 1 if hi is None else hi
    for _ in range(20):
        i = rng.randrange(lo, hi)
        if digits[i] != digits[i + 1]:
            return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
    return digits


def _rewritten(address: str, rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.4:
        return address.removeprefix("甘肃省")
    if choice < 0.7:
        return _S2T.convert(address)
    return address.replace("单元", "单元 ").replace("室", "")


def _birth_of(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def plant(files: list[dict[str, object]], count: int, unit_id: int, seed: int = 11) -> list[Planted]:
    """Return `count` incoming records: near-duplicates of the files, new people and hard negatives."""
    rng = random.Random(seed)
    taken = {f["id_number"] for f in files}
    out: list[Planted] = []
    kinds = (("exact_id", 0.25), ("traditional_phone", 0.10), ("same_name_birth_address", 0.10),
             ("typo_birth_address", 0.10), ("swapped_id_digits", 0.10), ("missing_id_swapped_birth_phone", 0.05),
             ("traditional_no_phone", 0.05), ("new_person", 0.10), ("namesake_other_id", 0.07),
             ("namesake_no_id_other_address", 0.05), ("sibling_homophone_same_address", 0.03))
    names, weights = zip(*kinds, strict=True)
    n = 0
    while len(out) < count:
        n += 1
        kind = rng.choices(names, weights)[0]
        at = rng.randrange(len(files))
        f = files[at]
        name, born, address = str(f["name"]), f["birth_date"], str(f["current_address"])
        phone, number = f["phone"], f["id_number"]
        record: IncomingRecord
        truth: int | None = at
        if kind == "exact_id" and number:
            record = IncomingRecord(name, str(number), None, address, unit_id)
        elif kind == "traditional_phone" and phone:
            record = IncomingRecord(_S2T.convert(name), None, str(phone), _rewritten(address, rng), unit_id)
        elif kind == "same_name_birth_address":
            record = IncomingRecord(name, None, None, _rewritten(address, rng), unit_id, birth_date=born)  # type: ignore[arg-type]
        elif kind == "typo_birth_address":
            record = IncomingRecord(_typo(name, rng), None, None, address, unit_id, birth_date=born)  # type: ignore[arg-type]
        elif kind == "swapped_id_digits" and number:
            swapped = _swap(str(number), rng, 6, 16)
            valid = is_valid_id_number(swapped)
            record = IncomingRecord(name, swapped if valid else None, None, address, unit_id,
                                    birth_date=_birth_of(swapped))
        elif kind == "missing_id_swapped_birth_phone" and phone:
            b = _birth_of(_swap(f"000000{born:%Y%m%d}", rng, 6, 13))  # type: ignore[str-format]
            record = IncomingRecord(name, None, str(phone), None, unit_id, birth_date=b)
        elif kind == "traditional_no_phone":
            record = IncomingRecord(_S2T.convert(name), None, None, address, unit_id, birth_date=born)  # type: ignore[arg-type]
        elif kind == "namesake_other_id":
            area, other_address = _address(rng)
            truth = None
            record = IncomingRecord(name, _id_number(area, born, f["sex"] == "M", rng), None, other_address,  # type: ignore[arg-type]
                                    unit_id)
            if record.id_number in taken:  # the number of another file: not a namesake then
                continue
        elif kind == "namesake_no_id_other_address":
            truth = None
            record = IncomingRecord(name, None, None, _address(rng)[1], unit_id, birth_date=born)  # type: ignore[arg-type]
        elif kind == "sibling_homophone_same_address":
            truth = None
            sibling = _typo(name, rng)
            if name_key(sibling) != name_key(name):
                continue
            record = IncomingRecord(sibling, None, phone, address, unit_id, birth_date=born)  # type: ignore[arg-type]
        else:  # new_person, or a kind the file cannot give (no ID, no phone)
            truth = None
            kind = "new_person"
            area, other_address = _address(rng)
            record = IncomingRecord(_name(rng) + rng.choice(GIVEN), None,
                                    f"19{rng.randrange(0, 10**9):09d}" if rng.random() < 0.5 else None,
                                    other_address, unit_id, birth_date=date(2001, 1, 1) + timedelta(days=n % 5000))
        out.append(Planted(record, truth, kind))
    return out


@dataclass(frozen=True)
class PlantedRow:
    """A row of a pushed sheet as the upstream typed it (cells, not normalised), with the truth."""

    cells: tuple[object, object, object, object]  # 姓名, 身份证号码, 联系电话, 现居住地址
    truth: int | None
    kind: str


def plant_rows(files: list[dict[str, object]], count: int, seed: int = 13) -> list[PlantedRow]:
    """Rows for the intake measurement (issue 21): the corruptions a pushed sheet carries, each a row a
    careless intake would refuse whole, plus new people and namesakes with another valid ID."""
    rng = random.Random(seed)
    taken = {f["id_number"] for f in files}
    kinds = (("exact_id_and_phone", 0.2), ("id_with_10_digit_phone", 0.15), ("wrong_check_digit_name_phone", 0.15),
             ("swapped_id_digits_name_address", 0.1), ("id_cut_by_excel_name_phone", 0.1),
             ("traditional_name_phone_no_id", 0.1), ("new_person", 0.1), ("namesake_other_id", 0.1))
    names, weights = zip(*kinds, strict=True)
    out: list[PlantedRow] = []
    while len(out) < count:
        kind = rng.choices(names, weights)[0]
        at = rng.randrange(len(files))
        f = files[at]
        name, address, phone, number = str(f["name"]), str(f["current_address"]), f["phone"], f["id_number"]
        if kind != "new_person" and kind != "namesake_other_id" and not (number and phone):
            continue
        cells: tuple[object, object, object, object]
        truth: int | None = at
        if kind == "exact_id_and_phone":
            cells = (name, number, phone, address)
        elif kind == "id_with_10_digit_phone":
            drop = rng.randrange(3, 11)
            cells = (name, number, str(phone)[:drop] + str(phone)[drop + 1:], address)
        elif kind == "wrong_check_digit_name_phone":
            last = str(number)[-1]
            wrong = rng.choice([c for c in "0123456789X" if c != last])
            cells = (name, str(number)[:-1] + wrong, phone, address)
        elif kind == "swapped_id_digits_name_address":
            cells = (name, _swap(str(number), rng, 14, 17), None, address)  # the sequence digits: birth kept
        elif kind == "id_cut_by_excel_name_phone":
            if not str(number)[:-1].isdigit():
                continue
            cells = (name, int(str(number)[:15] + "000"), phone, address)  # what Excel keeps of a long number
        elif kind == "traditional_name_phone_no_id":
            cells = (_S2T.convert(name), None, phone, _rewritten(address, rng))
        elif kind == "namesake_other_id":
            area, other_address = _address(rng)
            truth = None
            other = _id_number(area, f["birth_date"], f["sex"] == "M", rng)  # type: ignore[arg-type]
            if other in taken:
                continue
            cells = (name, other, None, other_address)
        else:
            truth = None
            cells = (_name(rng) + rng.choice(GIVEN), None, f"19{rng.randrange(0, 10**9):09d}", _address(rng)[1])
        out.append(PlantedRow(cells, truth, kind))
    return out
