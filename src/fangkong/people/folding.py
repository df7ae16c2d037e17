"""Name and address folding for record linkage: traditional → simplified (OpenCC), pinyin keys (pypinyin).

Two spellings of one person's name differ in practice by script (張偉 / 张伟, from Hong Kong, Macau and
Taiwan documents or old household registers), by a homophone typed by mistake (张玮 for 张伟: Chinese input
methods are phonetic), by spaces or the middle dot of minority names (阿不都·热合曼). The folded name
removes the first and the last; the pinyin key removes the homophone. Both work character by character
with a cache: names are short and their alphabet small, so a million names fold in seconds.
"""

from __future__ import annotations

import re
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

_T2S = opencc.OpenCC("t2s")
_SEPARATORS = frozenset(" \t·•・.-_'’")
_NOT_WORD = re.compile(r"[\W_]+")


class _Simplified(dict[int, str]):
    """str.translate table: full-width ASCII to ASCII, separators out, traditional to simplified (OpenCC
    asked once per character; C-speed translation after that)."""

    def __init__(self, drop: frozenset[str]) -> None:
        super().__init__()
        self.drop = drop

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII, as Chinese input methods type it
            char = chr(code - 0xFEE0)
        elif code == 0x3000:
            char = " "
        value = "" if char in self.drop else _T2S.convert(char)
        self[code] = value
        return value


_NAME_TABLE = _Simplified(_SEPARATORS)
_ADDRESS_TABLE = _Simplified(frozenset())


@lru_cache(maxsize=65536)
def _syllable(char: str) -> str:
    if not _is_han(char):
        return char.lower() if char.isalnum() else ""
    syllables = lazy_pinyin(char, style=Style.NORMAL, errors="ignore")
    return syllables[0] if syllables else char


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def fold_name(name: str | None) -> str:
    """Return the name in simplified characters, full-width folded, without spaces or middle dots."""
    return (name or "").translate(_NAME_TABLE).lower()


def name_key(name: str | None) -> str:
    """Return the toneless pinyin of the folded name (张伟, 張偉 and 张玮 all give "zhangwei")."""
    return "".join(_syllable(c) for c in fold_name(name))[:64]


def surname_key(name: str | None) -> str:
    """Return the pinyin of the name's first character: the blocking key beside the birth date."""
    folded = fold_name(name)
    return _syllable(folded[0])[:16] if folded else ""


def fold_address(address: str | None) -> str:
    """Return the address simplified and without spaces or punctuation, for similarity scoring."""
    return _NOT_WORD.sub("", (address or "").translate(_ADDRESS_TABLE))
