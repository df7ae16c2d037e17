"""Identity documents that checkpoints and person files accept, each with its own number format."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from fangkong.core.codes.errors import N_, SEPARATORS, CodeError, fold
from fangkong.core.codes.idnumber import BAD_CHECK, check_character, checked_number, normalize_id_number


class DocumentType(StrEnum):
    """The kinds of identity document; the values are stored in the database."""

    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAU_PERMIT = "hk_macau_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    HK_MACAU_RESIDENCE = "hk_macau_residence"
    TAIWAN_RESIDENCE = "taiwan_residence"
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"
    OTHER = "other"
    # Former name from before the residence permits were split: an alias, prefer the members above.
    HK_MACAU_TAIWAN_RESIDENCE = "hk_macau_residence"


DOCUMENT_LABELS: dict[DocumentType, tuple[str, str]] = {
    DocumentType.RESIDENT_ID: ("居民身份证", "Resident ID card"),
    DocumentType.PASSPORT: ("护照", "Passport"),
    DocumentType.HK_MACAU_PERMIT: ("港澳居民来往内地通行证",
                                   "Mainland travel permit for Hong Kong and Macao residents"),
    DocumentType.TAIWAN_PERMIT: ("台湾居民来往大陆通行证", "Mainland travel permit for Taiwan residents"),
    DocumentType.HK_MACAU_RESIDENCE: ("港澳居民居住证", "Residence permit for Hong Kong and Macao residents"),
    DocumentType.TAIWAN_RESIDENCE: ("台湾居民居住证", "Residence permit for Taiwan residents"),
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: ("外国人永久居留身份证", "Foreign permanent resident ID card"),
    DocumentType.OTHER: ("其他证件", "Other document"),
}

UNKNOWN_DOCUMENT = N_("Unknown document type.")
BAD_DOCUMENT = N_("This is not a valid number for this document.")
BAD_PASSPORT = N_("A passport number has 5 to 17 letters or digits.")
BAD_HK_MACAU_PERMIT = N_("A permit number for Hong Kong and Macao residents is H or M followed by 8 or 10 digits.")
BAD_TAIWAN_PERMIT = N_("A permit number for Taiwan residents has 8 digits (10 characters on old permits).")
BAD_HK_MACAU_RESIDENCE = N_(
    "A residence permit number for Hong Kong and Macao residents has 18 characters and starts with 810000 or 820000.")
BAD_TAIWAN_RESIDENCE = N_(
    "A residence permit number for Taiwan residents has 18 characters and starts with 830000.")
BAD_FOREIGN_PERMANENT = N_(
    "A foreign permanent resident ID number has 3 letters and 12 digits, or 18 characters starting with 9.")

_PATTERNS = {
    DocumentType.PASSPORT: (re.compile(r"[A-Z0-9]{5,17}"), BAD_PASSPORT),
    DocumentType.HK_MACAU_PERMIT: (re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})"), BAD_HK_MACAU_PERMIT),
    DocumentType.TAIWAN_PERMIT: (re.compile(r"[0-9]{8}(?:[0-9A-Z]{2})?"), BAD_TAIWAN_PERMIT),
    # Anything printed on a card: letters, digits, Chinese characters (e.g. 军官证 numbers).
    DocumentType.OTHER: (re.compile(r"[A-Z0-9\u4e00-\u9fff]{2,32}"), BAD_DOCUMENT),
}
_RESIDENCE = {
    DocumentType.HK_MACAU_RESIDENCE: (("810000", "820000"), BAD_HK_MACAU_RESIDENCE),
    DocumentType.TAIWAN_RESIDENCE: (("830000",), BAD_TAIWAN_RESIDENCE),
}
_FOREIGN_OLD = re.compile(r"[A-Z]{3}[0-9]{12}")
_FOREIGN_NEW = re.compile(r"9[0-9]{16}[0-9X]")  # 2023 card: 9, 16 digits, MOD 11-2 check character


def document_type(doc_type: str) -> DocumentType:
    """Return the DocumentType for a stored or submitted value, or raise CodeError."""
    try:
        return DocumentType((doc_type or "").strip())
    except ValueError:
        raise CodeError(UNKNOWN_DOCUMENT) from None


def validate_document(doc_type: str, raw: str) -> str:
    """Return the normalised number of a document of this type, or raise CodeError saying what is wrong."""
    kind = document_type(doc_type)
    text = fold(raw, drop=SEPARATORS + "()").upper()
    return _VALIDATORS.get(kind, _by_pattern)(kind, text)


def _resident(_kind: DocumentType, text: str) -> str:
    """Return the normalised resident ID number."""
    return normalize_id_number(text)


def _residence(kind: DocumentType, text: str) -> str:
    """Return the number of a residence permit for Hong Kong, Macao or Taiwan residents."""
    prefixes, message = _RESIDENCE[kind]
    if len(text) != 18 or not text.startswith(prefixes):
        raise CodeError(message)
    # Built like a resident ID number (birth date, sequence, check character) but on a code of its own.
    return checked_number(text, area_ok=lambda code: code in prefixes, legacy=False)


def _foreign_permanent(_kind: DocumentType, text: str) -> str:
    """Return the number of a foreign permanent resident ID card, old (15) or 2023 (18) form."""
    if _FOREIGN_OLD.fullmatch(text):
        return text
    if not _FOREIGN_NEW.fullmatch(text):
        raise CodeError(BAD_FOREIGN_PERMANENT)
    expected = check_character(text[:17])
    if text[17] != expected:
        raise CodeError(BAD_CHECK, expected=expected)
    return text


def _by_pattern(kind: DocumentType, text: str) -> str:
    """Return the number if it matches its document's pattern."""
    pattern, message = _PATTERNS[kind]
    if not pattern.fullmatch(text):
        raise CodeError(message)
    return text


_VALIDATORS: dict[DocumentType, Callable[[DocumentType, str], str]] = {
    DocumentType.RESIDENT_ID: _resident,
    DocumentType.HK_MACAU_RESIDENCE: _residence,
    DocumentType.TAIWAN_RESIDENCE: _residence,
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: _foreign_permanent,
}
