"""Chinese identity and vehicle codes: small, fully tested modules used at every entry point.

Every validator returns the normalised value or raises CodeError, whose `message` is an English msgid
and `params` its placeholders, so callers translate the message before formatting it.
"""

from fangkong.core.codes.areas import Area, area_name, children, lookup_area, province_of, provinces
from fangkong.core.codes.documents import DOCUMENT_LABELS, DocumentType, validate_document
from fangkong.core.codes.errors import SEPARATORS, CodeError, fold
from fangkong.core.codes.idnumber import (
    ResidentId,
    age_band,
    birth_date_in,
    check_character,
    is_valid_id_number,
    mask_id_number,
    normalize_id_number,
    parse_id_number,
)
from fangkong.core.codes.phones import is_mobile, mask_phone, normalize_mobile
from fangkong.core.codes.plates import Plate, normalize_plate, plate_region

__all__ = [
    "DOCUMENT_LABELS", "SEPARATORS", "Area", "CodeError", "DocumentType", "Plate", "ResidentId", "age_band",
    "area_name", "birth_date_in",
    "check_character", "children", "fold", "is_mobile", "is_valid_id_number", "lookup_area", "mask_id_number",
    "mask_phone", "normalize_id_number", "normalize_mobile", "normalize_plate", "parse_id_number", "plate_region",
    "province_of", "provinces", "validate_document",
]
