"""CodeError (a translatable message with its params) and fold, the one shared normalisation."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.codes import SEPARATORS, CodeError, fold


def test_code_error_keeps_template_and_params_and_formats_english() -> None:
    err = CodeError("The check character should be {expected}.", expected="X")
    assert isinstance(err, ValueError)
    assert err.message == "The check character should be {expected}."
    assert err.params == {"expected": "X"}
    assert str(err) == "The check character should be X."


def test_code_error_without_params_is_its_message() -> None:
    err = CodeError("Unknown document type.")
    assert (str(err), err.params) == ("Unknown document type.", {})


def test_code_error_survives_pickling_with_template_and_params() -> None:
    err = pickle.loads(pickle.dumps(CodeError("Code {code} is unknown.", code="999999")))
    assert (err.message, err.params) == ("Code {code} is unknown.", {"code": "999999"})
    assert str(err) == "Code 999999 is unknown."


@pytest.mark.parametrize(("raw", "folded"), [
    ("１１０１０５", "110105"),
    ("ＡＢＣｘｙｚ", "ABCxyz"),
    ("＋８６　１３８", "+86 138"),  # the ideographic space becomes a space
    ("！～", "!~"),  # both ends of the full-width block
    ("  甘A 12345\t", "甘A 12345"),  # trimmed, Chinese untouched
    ("", ""),
    (None, ""),
])
def test_fold_maps_full_width_ascii_and_trims(raw: str | None, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_drops_what_the_caller_asks_for_in_either_width() -> None:
    assert fold("110105-1949 1231\t002X", drop=" -\t") == "11010519491231002X"
    assert fold("１１０１０５－１９４９　１２３１", drop=" -") == "11010519491231"


def test_separators_cover_pasted_spaces_and_dashes() -> None:
    raw = "\ufeff138\u00a00013\u200b8000 – 1\u2212"
    assert fold(raw, drop=SEPARATORS) == "138001380001"


@given(st.text())
def test_fold_is_idempotent(raw: str) -> None:
    assert fold(fold(raw)) == fold(raw)
    assert fold(fold(raw, drop=SEPARATORS), drop=SEPARATORS) == fold(raw, drop=SEPARATORS)


@given(st.text())
def test_fold_leaves_no_full_width_ascii(raw: str) -> None:
    assert not any(0xFF01 <= ord(c) <= 0xFF5E or c == "\u3000" for c in fold(raw))
