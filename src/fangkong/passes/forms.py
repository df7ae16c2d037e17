"""Checks on what the public types into the pass forms, and the guard of those forms (size, rate, CSRF,
honeypot). The same rules as registration's public forms (that capability sits above this one, so its
helpers cannot be imported here); the limiter itself is core's, shared with them."""

from __future__ import annotations

from typing import Any

from fangkong.core.errors import DomainError
from fangkong.core.i18n import N_
from fangkong.core.public_input import (  # re-exported: the forms name them here
    REQUIRED as REQUIRED,
)
from fangkong.core.public_input import (
    SCRIPTED as SCRIPTED,
)
from fangkong.core.public_input import (
    TOO_LONG as TOO_LONG,
)
from fangkong.core.public_input import (
    clean_phone as clean_phone,
)
from fangkong.core.public_input import (
    clean_text as clean_text,
)
from fangkong.core.references import (  # re-exported: callers name them here
    ALPHABET as ALPHABET,
)
from fangkong.core.references import (
    REFERENCE_LENGTH as REFERENCE_LENGTH,
)
from fangkong.core.references import (
    new_reference as new_reference,
)
from fangkong.core.references import (
    normalise_reference as normalise_reference,
)
from fangkong.core.references import (
    show_reference as show_reference,
)
from fangkong.core.web.public_forms import HONEYPOT as HONEYPOT  # re-exported: the templates' field
from fangkong.core.web.public_forms import REFUSED as REFUSED
from fangkong.core.web.public_forms import public_form as core_public_form
from fangkong.core.web.public_forms import refused
from fangkong.passes.rules import DOCUMENT_TOO_LARGE, MAX_DOCUMENT_BYTES

CHOOSE = N_("Choose one of the options.")
MAX_TEXT_FORM = 16 * 1024
MAX_UPLOAD_FORM = MAX_DOCUMENT_BYTES + 64 * 1024  # the document and the fields around it


class UploadTooLarge(DomainError):
    """A form whose body is larger than any allowed upload: refused before it is read."""

    status = 413
    slug = "too-large"
    title = N_("The request is too large.")

    def __init__(self) -> None:
        super().__init__(DOCUMENT_TOO_LARGE, mb=MAX_DOCUMENT_BYTES // 1024 // 1024)


def public_form(kind: str, upload: bool = False) -> Any:
    """Route dependency for a public pass form: size limit, per-IP rate limit, CSRF, honeypot."""
    return core_public_form(kind, MAX_UPLOAD_FORM if upload else MAX_TEXT_FORM,
                            UploadTooLarge if upload else refused, without_length=refused)









