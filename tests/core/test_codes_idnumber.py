"""Resident ID numbers (GB 11643): the standard's examples, normalisation, conversion, errors, properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.codes import (
    CodeError,
    check_character,
    is_valid_id_number,
    mask_id_number,
    normalize_id_number,
    parse_id_number,
)
from fangkong.core.codes.idnumber import BAD_BIRTH_DATE, BAD_CHECK, UNKNOWN_AREA, WRONG_LENGTH


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_the_standards_worked_examples_validate(number: str) -> None:
    assert normalize_id_number(number) == number


def test_parse_gives_birth_date_sex_and_origin() -> None:
    rid = parse_id_number("11010519491231002X")
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex == "F"  # sequence 002 is even
    assert rid.origin is not None and rid.origin.full_name == "北京市朝阳区"
    assert parse_id_number("440524188001010014").sex == "M"


def test_origin_uses_the_code_valid_in_the_birth_year() -> None:
    # 440524 (潮阳县, 汕头市) was retired in 1993; a number issued for a 1980s birth still names it.
    rid = parse_id_number("440524198001010017".replace("7", check_character("44052419800101001")))
    assert rid.origin is not None and rid.origin.name == "潮阳县" and rid.origin.retired_year == 1993


@pytest.mark.parametrize("raw", ["11010519491231002x", " 110105 19491231 002X ", "１１０１０５１９４９１２３１００２Ｘ",
                                 "110105-19491231-002X"])
def test_lowercase_x_full_width_spaces_and_dashes_are_normalised(raw: str) -> None:
    assert normalize_id_number(raw) == "11010519491231002X"


def test_fifteen_digit_numbers_become_eighteen() -> None:
    assert normalize_id_number("110105491231002") == "11010519491231002X"


@pytest.mark.parametrize(("raw", "message"), [
    ("110105194912310021", BAD_CHECK),
    ("11010519490230002X", BAD_BIRTH_DATE),  # 30 February
    ("110105" + "20991231" + "0021", BAD_BIRTH_DATE),  # in the future
    ("999999194912310021", UNKNOWN_AREA),
    ("1101051949123100", WRONG_LENGTH),
])
def test_invalid_numbers_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(CodeError) as err:
        normalize_id_number(raw)
    assert err.value.message == message


def test_wrong_check_character_names_the_right_one() -> None:
    with pytest.raises(CodeError) as err:
        normalize_id_number("110105194912310021")
    assert err.value.params == {"expected": "X"}


def test_mask_keeps_the_first_and_last_four() -> None:
    assert mask_id_number("620102194703131181") == "**************1181"


VALID_BODIES = st.builds(
    lambda area, born, seq: f"{area}{born:%Y%m%d}{seq:03d}",
    st.sampled_from(["110105", "620102", "620103", "420106", "440106", "650102"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(0, 999),
)


@given(VALID_BODIES)
def test_any_body_with_its_check_character_validates(body: str) -> None:
    number = body + check_character(body)
    assert normalize_id_number(number) == number
    assert normalize_id_number(normalize_id_number(number)) == number


@given(VALID_BODIES, st.sampled_from("0123456789X"))
def test_any_other_check_character_fails(body: str, wrong: str) -> None:
    right = check_character(body)
    assert is_valid_id_number(body + wrong) == (wrong == right)


@given(VALID_BODIES, st.integers(0, 16), st.integers(1, 9))
def test_a_single_changed_digit_is_caught(body: str, position: int, delta: int) -> None:
    number = body + check_character(body)
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]
    # MOD 11-2 detects every single-digit substitution: the old check character no longer fits.
    assert check_character(changed[:17]) != number[17]
    assert not is_valid_id_number(changed)
