"""Every string the code and templates mark for translation has a Simplified Chinese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

import fangkong
from fangkong.core.context import current_locale
from fangkong.core.i18n import gettext, negotiate, translations

SRC = Path(fangkong.__file__).resolve().parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def _msgids() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(str(SRC), METHODS, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_marked_string_has_a_chinese_translation() -> None:
    zh = translations("zh_CN")
    missing = sorted(m for m in _msgids() if m and zh.gettext(m) == m)
    assert missing == [], "run `make i18n` and translate: " + "; ".join(missing)


def test_placeholders_survive_translation() -> None:
    zh = translations("zh_CN")
    for msgid in _msgids():
        if "{" in msgid:
            names = {part.split("}")[0] for part in msgid.split("{")[1:]}
            assert all("{" + n + "}" in zh.gettext(msgid) for n in names), msgid


def test_gettext_follows_the_current_locale() -> None:
    token = current_locale.set("en")
    try:
        assert gettext("Log in") == "Log in"
    finally:
        current_locale.reset(token)
    assert gettext("Log in") == "登录"


def test_accept_language_negotiation() -> None:
    assert negotiate("en-GB,en;q=0.9", "zh_CN") == "en"
    assert negotiate("zh-TW,zh;q=0.9", "en") == "zh_CN"
    assert negotiate("fr-FR", "zh_CN") == "zh_CN"
    assert negotiate(None, "zh_CN") == "zh_CN"
