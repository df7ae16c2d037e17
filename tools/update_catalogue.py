"""Merge new msgids from var/messages.pot into the zh_CN catalogue, optionally filling translations.

Usage: uv run python tools/update_catalogue.py [TRANSLATIONS.py]
TRANSLATIONS.py defines ZH = {msgid: 中文} and PLURAL = {singular: 中文}; existing translations are kept.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "var" / "messages.pot"
PO = ROOT / "src" / "fangkong" / "i18n" / "zh_CN" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    extra = runpy.run_path(sys.argv[1]) if len(sys.argv) > 1 else {}
    zh, plural = extra.get("ZH", {}), extra.get("PLURAL", {})
    with POT.open("rb") as handle:
        template = read_po(handle)
    if PO.exists():
        with PO.open("rb") as handle:
            catalog = read_po(handle, locale="zh_CN")
    else:
        catalog = Catalog(locale="zh_CN", project="fangkong", domain="messages")
    catalog.update(template, no_fuzzy_matching=True)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if message.id[0] in plural and not any(message.string):
                message.string = (plural[message.id[0]],)
        elif message.id in zh and not message.string:
            message.string = zh[message.id]
    catalog.obsolete.clear()
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=120, omit_header=False, sort_output=True, include_lineno=False)
    missing = [m.id for m in catalog if m.id and not (any(m.string) if isinstance(m.id, tuple) else m.string)]
    print(f"{PO.relative_to(ROOT)}: {len(catalog)} messages, {len(missing)} untranslated")
    for msgid in missing:
        print("  missing:", msgid)


if __name__ == "__main__":
    main()
