"""Plates (GA 36), mobile numbers, GB/T 2260 areas and non-resident documents."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.codes import (
    CodeError,
    DocumentType,
    area_name,
    children,
    lookup_area,
    mask_phone,
    normalize_mobile,
    normalize_plate,
    plate_region,
    provinces,
    validate_document,
)


@pytest.mark.parametrize(("raw", "number", "region"), [
    ("鄂A12345", "鄂A12345", "湖北省武汉市"),
    ("鄂a·12345", "鄂A12345", "湖北省武汉市"),
    ("甘Ａ １２３４５", "甘A12345", "甘肃省兰州市"),
    ("京N12345", "京N12345", "北京市"),
    ("甘AD12345", "甘AD12345", "甘肃省兰州市"),  # small new-energy
    ("甘A12345D", "甘A12345D", "甘肃省兰州市"),  # large new-energy
    ("甘A1234挂", "甘A1234挂", "甘肃省兰州市"),
])
def test_plates_are_normalised_with_their_region(raw: str, number: str, region: str) -> None:
    plate = normalize_plate(raw)
    assert plate.number == number and plate.region == region
    assert plate.new_energy == (len(number) == 8)


@pytest.mark.parametrize("raw", ["XA12345", "甘I12345", "甘A1234", "甘A123456", "甘AO1234", ""])
def test_malformed_plates_are_refused(raw: str) -> None:
    with pytest.raises(CodeError):
        normalize_plate(raw)
    assert plate_region(raw) is None


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "8613800138000",
                                 "１３８００１３８０００"])
def test_mobiles_accept_country_code_spaces_and_dashes(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["0931-8888888", "1380013800", "12800138000", "23800138000", "phone"])
def test_non_mobiles_are_refused(raw: str) -> None:
    with pytest.raises(CodeError):
        normalize_mobile(raw)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mobile_normalisation_is_idempotent_and_masks_keep_ends(number: str) -> None:
    assert normalize_mobile(normalize_mobile(number)) == number
    masked = mask_phone(number)
    assert len(masked) == 11 and masked[:3] == number[:3] and masked[-4:] == number[-4:]


def test_area_names_and_history() -> None:
    assert area_name("620102") == "甘肃省兰州市城关区"
    assert area_name("620100") == "甘肃省兰州市"
    assert area_name("110101") == "北京市东城区"
    assert lookup_area("110103", 2000).name == "崇文区"  # retired 2010
    assert lookup_area("110103", 2015) is None
    assert lookup_area("999999") is None


def test_area_tree() -> None:
    assert len(provinces()) >= 31
    lanzhou = {a.code for a in children("620100")}
    assert {"620102", "620103", "620104", "620105", "620111", "620121", "620122", "620123"} <= lanzhou
    assert "620100" in {a.code for a in children("620000")}


@pytest.mark.parametrize(("kind", "raw", "normalised"), [
    (DocumentType.PASSPORT, "e12345678", "E12345678"),
    (DocumentType.HK_MACAU_PERMIT, "h12345678", "H12345678"),
    (DocumentType.TAIWAN_PERMIT, "12345678", "12345678"),
    (DocumentType.FOREIGN_PERMANENT_RESIDENCE, "USA123456789012", "USA123456789012"),
])
def test_non_resident_documents_validate_by_their_own_rules(kind: str, raw: str, normalised: str) -> None:
    assert validate_document(kind, raw) == normalised


@pytest.mark.parametrize(("kind", "raw"), [
    (DocumentType.PASSPORT, "E1"), (DocumentType.HK_MACAU_PERMIT, "X12345678"),
    (DocumentType.TAIWAN_PERMIT, "ABC"), (DocumentType.FOREIGN_PERMANENT_RESIDENCE, "123"),
    (DocumentType.HK_MACAU_TAIWAN_RESIDENCE, "11010519491231002X"), ("spaceship", "X1"),
])
def test_bad_documents_are_refused(kind: str, raw: str) -> None:
    with pytest.raises(CodeError):
        validate_document(kind, raw)
