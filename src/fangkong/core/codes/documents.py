"""Identity documents of non-residents, each with its own validation."""

from __future__ import annotations

import re
from enum import StrEnum

from fangkong.core.codes.errors import N_, CodeError, fold
from fangkong.core.codes.idnumber import CHECK, WEIGHTS, normalize_id_number

BAD_DOCUMENT = N_("This is not a valid number for this document.")
UNKNOWN_DOCUMENT = N_("Unknown document type.")


class DocumentType(StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAU_PERMIT = "hk_macau_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    HK_MACAU_TAIWAN_RESIDENCE = "hmt_residence"
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"
    OTHER = "other"


DOCUMENT_LABELS: dict[str, tuple[str, str]] = {
    DocumentType.RESIDENT_ID: ("居民身份证", "Resident ID card"),
    DocumentType.PASSPORT: ("护照", "Passport"),
    DocumentType.HK_MACAU_PERMIT: ("港澳居民来往内地通行证", "Mainland travel permit for HK/Macau residents"),
    DocumentType.TAIWAN_PERMIT: ("台湾居民来往大陆通行证", "Mainland travel permit for Taiwan residents"),
    DocumentType.HK_MACAU_TAIWAN_RESIDENCE: ("港澳台居民居住证", "Residence permit for HK/Macau/Taiwan residents"),
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: ("外国人永久居留身份证", "Foreign permanent resident ID card"),
    DocumentType.OTHER: ("其他证件", "Other document"),
}

_PATTERNS = {
    DocumentType.PASSPORT: re.compile(r"^[A-Z0-9]{5,17}$"),
    DocumentType.HK_MACAU_PERMIT: re.compile(r"^[HM]([0-9]{8}|[0-9]{10})$"),
    DocumentType.TAIWAN_PERMIT: re.compile(r"^([0-9]{8}|[0-9]{10}|[0-9]{8}[A-Z][0-9])$"),
    DocumentType.OTHER: re.compile(r"^[A-Z0-9]{4,32}$"),
}
_OLD_FOREIGN = re.compile(r"^[A-Z]{3}[0-9]{12}$")


def validate_document(doc_type: str, raw: str) -> str:
    """Return the normalised document number, or raise CodeError (ValueError for an unknown type)."""
    try:
        kind = DocumentType(doc_type)
    except ValueError:
        raise CodeError(UNKNOWN_DOCUMENT) from None
    text = fold(raw, drop=" -\t").upper()
    if kind == DocumentType.RESIDENT_ID:
        return normalize_id_number(text)
    if kind == DocumentType.HK_MACAU_TAIWAN_RESIDENCE:
        if not text.startswith(("810000", "820000", "830000")):
            raise CodeError(BAD_DOCUMENT)
        return normalize_id_number(text)
    if kind == DocumentType.FOREIGN_PERMANENT_RESIDENCE:
        return _foreign_permanent(text)
    if not _PATTERNS[kind].match(text):
        raise CodeError(BAD_DOCUMENT)
    return text


def _foreign_permanent(text: str) -> str:
    if _OLD_FOREIGN.match(text):
        return text
    # The 2023 card: 18 characters, starting with 9, check character by the ID number's MOD 11-2.
    if len(text) == 18 and text[0] == "9" and text[:17].isdigit():
        expected = CHECK[sum(int(d) * w for d, w in zip(text[:17], WEIGHTS, strict=True)) % 11]
        if text[17] == expected:
            return text
    raise CodeError(BAD_DOCUMENT)
