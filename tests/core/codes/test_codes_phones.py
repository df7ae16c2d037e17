"""Mainland mobile numbers: country code, separators, full width; landlines refused; masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.codes import CodeError, is_mobile, mask_phone, normalize_mobile
from fangkong.core.codes.phones import NOT_MOBILE


@pytest.mark.parametrize("raw", [
    "13800138000",
    "+8613800138000",
    "+86 138 0013 8000",
    "+86-138-0013-8000",
    "0086 13800138000",
    "008613800138000",
    "8613800138000",
    "(+86) 138 0013 8000",
    "138-0013-8000",
    "１３８００１３８０００",
    "＋８６　１３８００１３８０００",
    "\u00a0138 0013 8000\n",
])
def test_mobiles_accept_country_code_spaces_dashes_and_full_width(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"
    assert is_mobile(raw)


@pytest.mark.parametrize("raw", [
    "0931-8888888",  # landline with area code
    "09318888888",  # the same, eleven digits
    "88888888",
    "1380013800",  # ten digits
    "138001380001",  # twelve
    "12800138000",  # second digit 2
    "10086",
    "23800138000",
    "+85213800138000",  # Hong Kong country code
    "+861380013800",  # country code before ten digits
    "86138001380",  # 86 is part of this number's eleven digits, not a country code
    "138００13800a",
    "phone",
    "",
])
def test_non_mobiles_are_refused(raw: str) -> None:
    with pytest.raises(CodeError) as caught:
        normalize_mobile(raw)
    assert caught.value.message == NOT_MOBILE
    assert not is_mobile(raw)


@pytest.mark.parametrize(("number", "masked"), [("13800138000", "138****8000"), ("1234567", "*******"),
                                                ("", "")])
def test_mask_keeps_the_first_three_and_last_four(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(MOBILES, st.sampled_from(["", "+86", "+86 ", "0086", "86", "+86-"]), st.sampled_from(["", " ", "-"]))
def test_normalisation_is_idempotent_with_any_prefix_and_separator(number: str, prefix: str, sep: str) -> None:
    spelled = prefix + sep.join([number[:3], number[3:7], number[7:]])
    assert normalize_mobile(spelled) == number
    assert normalize_mobile(normalize_mobile(spelled)) == number


@given(st.text(alphabet="0123456789", min_size=8, max_size=20))
def test_masking_keeps_the_length_and_both_ends(number: str) -> None:
    masked = mask_phone(number)
    assert len(masked) == len(number) and masked[:3] == number[:3] and masked[-4:] == number[-4:]
    assert set(masked[3:-4]) == {"*"}
