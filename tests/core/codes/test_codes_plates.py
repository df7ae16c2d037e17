"""Vehicle plates (GA 36): normalisation, registering region, new energy, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.codes import CodeError, Plate, normalize_plate, plate_region
from fangkong.core.codes.plates import LETTERS, MALFORMED_PLATE, PROVINCES, UNKNOWN_PROVINCE


def test_a_plate_names_its_province_and_prefecture() -> None:
    assert normalize_plate("鄂A12345") == Plate(number="鄂A12345", province_abbr="鄂", province="湖北省",
                                                region="湖北省武汉市", new_energy=False)


@pytest.mark.parametrize(("raw", "number"), [
    ("鄂a12345", "鄂A12345"),
    ("鄂A·12345", "鄂A12345"),
    ("鄂a·1234b", "鄂A1234B"),
    ("鄂 A 12345", "鄂A12345"),
    ("鄂A-12345", "鄂A12345"),
    ("鄂Ａ１２３４５", "鄂A12345"),
    ("鄂ａ．１２３４５", "鄂A12345"),  # full-width lowercase and a full-width full stop
    ("鄂A・12345", "鄂A12345"),  # the katakana middle dot some input methods produce
    ("\u3000鄂A12345\t", "鄂A12345"),
])
def test_typed_spellings_are_normalised(raw: str, number: str) -> None:
    assert normalize_plate(raw).number == number


@pytest.mark.parametrize(("raw", "region"), [
    ("鄂A12345", "湖北省武汉市"),
    ("甘A12345", "甘肃省兰州市"),
    ("京N12345", "北京市"),  # listed as the pattern 京[A-Z]
    ("粤E12345", "广东省佛山市"),  # 粤[EXY]
    ("粤Y12345", "广东省佛山市"),
    ("鲁U12345", "山东省青岛市"),  # 鲁[BU]
    ("鄂M12345", "湖北省仙桃市"),
])
def test_the_authority_letter_gives_the_region(raw: str, region: str) -> None:
    assert normalize_plate(raw).region == region
    assert plate_region(raw) == region


def test_an_unlisted_letter_keeps_the_province() -> None:
    plate = normalize_plate("鄂Z12345")
    assert (plate.province, plate.region) == ("湖北省", None)
    assert plate_region("鄂Z12345") == "湖北省"


@pytest.mark.parametrize(("raw", "number"), [
    ("甘AD12345", "甘AD12345"),  # small: D (pure electric) first
    ("甘AF12345", "甘AF12345"),  # small: F (other new energy)
    ("甘AA12345", "甘AA12345"),  # small, letters A–K since 2019
    ("甘AKB1234", "甘AKB1234"),  # small: a letter in second place
    ("甘A12345D", "甘A12345D"),  # large: D last
    ("甘a12345f", "甘A12345F"),  # large: F last, typed in lowercase
    ("甘ａｄ１２３４５", "甘AD12345"),
])
def test_new_energy_plates_have_six_characters(raw: str, number: str) -> None:
    plate = normalize_plate(raw)
    assert (plate.number, plate.new_energy) == (number, True)


@pytest.mark.parametrize("raw", ["甘A1234挂", "甘A1234学", "甘A1234警", "粤Z1234港", "粤Z1234澳", "甘AB123C"])
def test_ordinary_plates_have_five_characters_and_may_end_with_a_use_character(raw: str) -> None:
    plate = normalize_plate(raw)
    assert plate.number == raw and not plate.new_energy


@pytest.mark.parametrize(("raw", "region"), [("粤O1234警", "广东省公安厅交通管理局车辆管理所"),
                                             ("鲁O12345", "山东省公安厅交通警察总队车辆管理所")])
def test_o_is_an_authority_letter_only_where_the_table_lists_it(raw: str, region: str) -> None:
    assert normalize_plate(raw).region == region


@pytest.mark.parametrize("raw", ["XA12345", "A12345", "港A12345", "台A12345", "1A12345"])
def test_an_unknown_province_is_refused(raw: str) -> None:
    with pytest.raises(CodeError) as caught:
        normalize_plate(raw)
    assert caught.value.message == UNKNOWN_PROVINCE
    assert plate_region(raw) is None


@pytest.mark.parametrize("raw", [
    "", "  ", "鄂", "鄂A", "鄂A1234", "鄂A1234567", "鄂I12345", "鄂112345", "鄂AO1234", "鄂A1I234", "鄂A12$45",
    "鄂A12挂45", "鄂A1234港",  # 港 only on 粤Z
    "鄂AI12345", "鄂AL12345",  # small new energy: A–K without I in first place
    "鄂A12345A", "鄂A1234DD",  # large new energy: five digits, then D or F
    "鄂AD1234A", "鄂AD12A45",  # small new energy: four digits at the end
    "鄂ÀB1234",
])
def test_malformed_plates_are_refused(raw: str) -> None:
    with pytest.raises(CodeError) as caught:
        normalize_plate(raw)
    assert caught.value.message == MALFORMED_PLATE
    assert plate_region(raw) is None


def test_every_province_abbreviation_of_the_standard_is_known() -> None:
    assert set(PROVINCES) == set("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
    for abbr, name in PROVINCES.items():
        assert normalize_plate(abbr + "A12345").province == name


def test_every_province_has_a_region_for_its_first_letter() -> None:
    assert all(normalize_plate(abbr + "A12345").region for abbr in PROVINCES)


PLATES = st.builds(
    lambda abbr, letter, tail: abbr + letter + tail,
    st.sampled_from(sorted(PROVINCES)), st.sampled_from(LETTERS),
    st.one_of(st.from_regex(rf"[{LETTERS}0-9]{{5}}", fullmatch=True),
              st.from_regex(rf"[{LETTERS}0-9]{{4}}[挂学警]", fullmatch=True),
              st.from_regex(rf"[A-HJK][{LETTERS}0-9][0-9]{{4}}", fullmatch=True),
              st.from_regex(r"[0-9]{5}[DF]", fullmatch=True)),
)


@given(PLATES, st.data())
def test_normalisation_is_idempotent_whatever_the_spelling(number: str, data: st.DataObject) -> None:
    lower = number[0] + number[1:].lower()
    spelled = data.draw(st.sampled_from([number, lower, number[:2] + "·" + number[2:], " ".join(number),
                                         number[0] + "".join(chr(ord(c) + 0xFEE0) if c.isascii() else c
                                                             for c in number[1:])]))
    plate = normalize_plate(spelled)
    assert plate.number == number
    assert normalize_plate(plate.number) == plate
    assert plate.new_energy == (len(number) == 8)
