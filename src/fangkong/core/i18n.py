"""Translations: English msgids in code and templates, Simplified Chinese (default) and English.

Catalogues are the .po files under fangkong/i18n, compiled in memory at first use, so there is no
build step and no compiled file to keep in sync. `pybabel extract` (make i18n) finds new strings.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from fangkong.core.context import current_locale
from fangkong.core.settings import LOCALES

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "i18n"


@functools.cache
def translations(locale: str) -> Translations:
    po_path = CATALOGUE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return Translations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str, **params: Any) -> str:
    """Return `message` translated to the current locale, with `{name}` placeholders filled."""
    text = translations(current_locale.get()).gettext(message)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(current_locale.get()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


def negotiate(accept_language: str | None, default: str) -> str:
    """Return the best of our locales for an Accept-Language header."""
    if not accept_language:
        return default
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower().replace("-", "_")
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return default


def is_locale(value: str | None) -> bool:
    return value in LOCALES
