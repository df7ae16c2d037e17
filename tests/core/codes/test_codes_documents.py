"""Identity documents of residents and non-residents, each validated by its own rule."""

from __future__ import annotations

import pytest

from fangkong.core.codes import DOCUMENT_LABELS, CodeError, DocumentType, check_character, validate_document
from fangkong.core.codes import documents as doc
from fangkong.core.codes.idnumber import BAD_BIRTH_DATE, BAD_CHECK, WRONG_LENGTH


def valid(body: str) -> str:
    """Return the 17-digit body with its check character."""
    return body + check_character(body)


def fault(kind: str, raw: str) -> CodeError:
    """Return the CodeError validating `raw` as `kind` raises."""
    with pytest.raises(CodeError) as caught:
        validate_document(kind, raw)
    return caught.value


def test_the_stored_values_are_stable() -> None:
    assert [str(t) for t in DocumentType] == [
        "resident_id", "passport", "hk_macau_permit", "taiwan_permit", "hk_macau_residence", "taiwan_residence",
        "foreign_permanent_residence", "other"]


def test_every_type_has_a_chinese_and_an_english_label() -> None:
    assert set(DOCUMENT_LABELS) == set(DocumentType)
    assert DOCUMENT_LABELS[DocumentType.PASSPORT] == ("护照", "Passport")
    for zh, en in DOCUMENT_LABELS.values():
        assert zh and en and not zh.isascii() and en.isascii()


def test_the_former_combined_residence_type_is_an_alias() -> None:
    assert DocumentType.HK_MACAU_TAIWAN_RESIDENCE is DocumentType.HK_MACAU_RESIDENCE


@pytest.mark.parametrize(("kind", "raw", "number"), [
    ("resident_id", "11010519491231002x", "11010519491231002X"),
    ("resident_id", "110105491231002", "11010519491231002X"),
    (DocumentType.PASSPORT, "e12345678", "E12345678"),
    (DocumentType.PASSPORT, "Ｇ１２３ ４５６７８", "G12345678"),
    (DocumentType.PASSPORT, "AB123", "AB123"),
    (DocumentType.PASSPORT, "X" * 17, "X" * 17),
    (DocumentType.HK_MACAU_PERMIT, "h12345678", "H12345678"),
    (DocumentType.HK_MACAU_PERMIT, "M1234567801", "M1234567801"),  # older: 10 digits
    (DocumentType.HK_MACAU_PERMIT, "H 0123-4567 (00)", "H0123456700"),
    (DocumentType.TAIWAN_PERMIT, "12345678", "12345678"),
    (DocumentType.TAIWAN_PERMIT, "1234567801", "1234567801"),  # older: 10 characters
    (DocumentType.TAIWAN_PERMIT, "12345678(b1)", "12345678B1"),
    (DocumentType.HK_MACAU_RESIDENCE, valid("81000019900101001"), valid("81000019900101001")),
    (DocumentType.HK_MACAU_RESIDENCE, valid("82000019900101001").lower(), valid("82000019900101001")),
    (DocumentType.TAIWAN_RESIDENCE, valid("83000019900101002"), valid("83000019900101002")),
    (DocumentType.FOREIGN_PERMANENT_RESIDENCE, "usa123456789012", "USA123456789012"),
    (DocumentType.FOREIGN_PERMANENT_RESIDENCE, valid("93384019900101001"), valid("93384019900101001")),
    (DocumentType.OTHER, "军字第123456号", "军字第123456号"),
    (DocumentType.OTHER, "ab-12", "AB12"),
])
def test_documents_are_normalised_by_their_own_rules(kind: str, raw: str, number: str) -> None:
    assert validate_document(kind, raw) == number


@pytest.mark.parametrize(("kind", "raw", "message"), [
    ("resident_id", "11010519491231002", WRONG_LENGTH),
    (DocumentType.PASSPORT, "E123", doc.BAD_PASSPORT),
    (DocumentType.PASSPORT, "E" * 18, doc.BAD_PASSPORT),
    (DocumentType.PASSPORT, "护照12345", doc.BAD_PASSPORT),
    (DocumentType.HK_MACAU_PERMIT, "X12345678", doc.BAD_HK_MACAU_PERMIT),
    (DocumentType.HK_MACAU_PERMIT, "H123456789", doc.BAD_HK_MACAU_PERMIT),  # 9 digits
    (DocumentType.HK_MACAU_PERMIT, "12345678", doc.BAD_HK_MACAU_PERMIT),
    (DocumentType.TAIWAN_PERMIT, "1234567", doc.BAD_TAIWAN_PERMIT),
    (DocumentType.TAIWAN_PERMIT, "A1234567", doc.BAD_TAIWAN_PERMIT),
    (DocumentType.TAIWAN_PERMIT, "123456789", doc.BAD_TAIWAN_PERMIT),
    (DocumentType.HK_MACAU_RESIDENCE, "11010519491231002X", doc.BAD_HK_MACAU_RESIDENCE),  # a resident ID
    (DocumentType.HK_MACAU_RESIDENCE, valid("83000019900101001"), doc.BAD_HK_MACAU_RESIDENCE),  # Taiwan's
    (DocumentType.HK_MACAU_RESIDENCE, "810000900101001", doc.BAD_HK_MACAU_RESIDENCE),  # no 15-digit form
    (DocumentType.TAIWAN_RESIDENCE, valid("81000019900101001"), doc.BAD_TAIWAN_RESIDENCE),
    (DocumentType.HK_MACAU_RESIDENCE, valid("81000019900230001"), BAD_BIRTH_DATE),
    (DocumentType.TAIWAN_RESIDENCE, "830000199001010010", BAD_CHECK),
    (DocumentType.FOREIGN_PERMANENT_RESIDENCE, "123", doc.BAD_FOREIGN_PERMANENT),
    (DocumentType.FOREIGN_PERMANENT_RESIDENCE, "US1234567890123", doc.BAD_FOREIGN_PERMANENT),
    (DocumentType.FOREIGN_PERMANENT_RESIDENCE, "11010519491231002X", doc.BAD_FOREIGN_PERMANENT),  # first digit 9
    (DocumentType.OTHER, "A", doc.BAD_DOCUMENT),
    (DocumentType.OTHER, "", doc.BAD_DOCUMENT),
    ("spaceship", "X1", doc.UNKNOWN_DOCUMENT),
    ("", "E12345678", doc.UNKNOWN_DOCUMENT),
])
def test_bad_documents_say_what_is_wrong(kind: str, raw: str, message: str) -> None:
    assert fault(kind, raw).message == message


def test_a_wrong_check_character_on_the_2023_foreign_card_names_the_right_one() -> None:
    number = valid("93384019900101001")
    wrong = "0" if number[-1] != "0" else "1"
    err = fault(DocumentType.FOREIGN_PERMANENT_RESIDENCE, number[:-1] + wrong)
    assert (err.message, err.params) == (BAD_CHECK, {"expected": number[-1]})


def test_a_residence_permit_is_refused_as_a_resident_id() -> None:
    assert fault("resident_id", valid("83000019900101002")).params == {"code": "830000"}
