"""Resident ID numbers (GB 11643): worked examples, normalisation, 15→18, each error, origin, masking, properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.codes import (
    CodeError,
    check_character,
    children,
    idnumber,
    is_valid_id_number,
    mask_id_number,
    normalize_id_number,
    parse_id_number,
    provinces,
)
from fangkong.core.codes.idnumber import BAD_BIRTH_DATE, BAD_CHARACTERS, BAD_CHECK, UNKNOWN_AREA, WRONG_LENGTH


def valid(body: str) -> str:
    """Return the 17-digit body with its check character."""
    return body + check_character(body)


def fault(raw: str) -> CodeError:
    """Return the CodeError that normalising `raw` raises."""
    with pytest.raises(CodeError) as caught:
        normalize_id_number(raw)
    return caught.value


@pytest.fixture
def today_2024_06_01(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idnumber, "_today", lambda: date(2024, 6, 1))


# The standard's worked examples


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_the_standards_worked_examples_validate(number: str) -> None:
    assert normalize_id_number(number) == number
    assert is_valid_id_number(number)
    assert check_character(number[:17]) == number[17]


def test_the_first_worked_example_parses() -> None:
    rid = parse_id_number("11010519491231002X")
    assert (rid.number, rid.area_code, rid.birth_date, rid.sex) == ("11010519491231002X", "110105",
                                                                    date(1949, 12, 31), "F")
    assert rid.origin is not None and rid.origin.full_name == "北京市朝阳区"


def test_the_second_worked_example_parses_with_a_retired_code() -> None:
    rid = parse_id_number("440524188001010014")
    assert (rid.birth_date, rid.sex) == (date(1880, 1, 1), "M")  # born on the earliest accepted day
    assert rid.origin is not None and (rid.origin.name, rid.origin.retired_year) == ("潮阳县", 1993)


# Input forms


@pytest.mark.parametrize("raw", [
    "11010519491231002x",
    " 110105 19491231 002X ",
    "110105-19491231-002X",
    "１１０１０５１９４９１２３１００２Ｘ",
    "１１０１０５１９４９１２３１００２ｘ",
    "110105\u00a019491231\u3000002X",  # a no-break space from a spreadsheet, an ideographic space
])
def test_lowercase_x_full_width_spaces_and_dashes_are_normalised(raw: str) -> None:
    assert normalize_id_number(raw) == "11010519491231002X"


@pytest.mark.parametrize(("old", "new"), [
    ("110105491231002", "11010519491231002X"),
    ("440524800101001", valid("44052419800101001")),
    ("１１０１０５ ４９１２３１ ００２", "11010519491231002X"),
])
def test_fifteen_digit_numbers_become_eighteen(old: str, new: str) -> None:
    assert normalize_id_number(old) == new
    assert parse_id_number(old).number == new


def test_fifteen_digit_numbers_are_still_checked() -> None:
    assert fault("110105490230002").message == BAD_BIRTH_DATE  # 30 February 1949
    assert fault("999999491231002").params == {"code": "999999"}
    assert fault("11010549123100X").message == BAD_CHARACTERS  # no check character in the old form


# Errors, one message per fault


@pytest.mark.parametrize(("raw", "message"), [
    ("", WRONG_LENGTH),
    ("1101051949123100", WRONG_LENGTH),
    ("11010519491231002X1", WRONG_LENGTH),
    ("1101051949123100X2", BAD_CHARACTERS),  # X only as the last character
    ("11010519491231002Y", BAD_CHARACTERS),
    ("11010519491231002²", BAD_CHARACTERS),  # str.isdigit() would take it, int() would not
    ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", BAD_CHARACTERS),  # Arabic-Indic digits are not folded
    ("11010519490230002X", BAD_BIRTH_DATE),  # 30 February
    ("11010519491301002X", BAD_BIRTH_DATE),  # month 13
    ("11010519491200002X", BAD_BIRTH_DATE),  # day 0
    (valid("11010518791231002"), BAD_BIRTH_DATE),  # before 1880
    (valid("99999919491231002"), UNKNOWN_AREA),
    (valid("11010019491231002"), UNKNOWN_AREA),  # Beijing never had a 110100 row
    ("110105194912310021", BAD_CHECK),
])
def test_invalid_numbers_say_what_is_wrong(raw: str, message: str) -> None:
    assert fault(raw).message == message
    assert not is_valid_id_number(raw)


def test_a_leap_day_is_a_birth_date_and_a_non_leap_one_is_not() -> None:
    assert is_valid_id_number(valid("11010520000229002"))
    assert fault(valid("11010519000229002")).message == BAD_BIRTH_DATE  # 1900 was not a leap year


def test_wrong_check_character_names_the_right_one() -> None:
    err = fault("110105194912310021")
    assert err.params == {"expected": "X"}
    assert str(err) == "The last character of the ID number is wrong: it should be X."


def test_unknown_area_names_the_code() -> None:
    assert fault(valid("99999919491231002")).params == {"code": "999999"}


@pytest.mark.usefixtures("today_2024_06_01")
def test_a_birth_date_in_the_future_is_impossible() -> None:
    assert is_valid_id_number(valid("62010220240601002"))  # born today
    assert fault(valid("62010220240602002")).message == BAD_BIRTH_DATE  # tomorrow


def test_the_faults_are_reported_in_the_order_people_fix_them() -> None:
    # Bad date, unknown area and wrong check character at once: the date comes first.
    assert fault("999999194902300021").message == BAD_BIRTH_DATE
    assert fault("999999194912310021").message == UNKNOWN_AREA


# Area codes across time


def test_a_1990s_number_from_a_code_retired_since_validates_with_its_old_area() -> None:
    number = valid("44052419900315002")  # 潮阳县, 1983–1993
    assert normalize_id_number(number) == number
    origin = parse_id_number(number).origin
    assert origin is not None and (origin.name, origin.retired_year) == ("潮阳县", 1993)


def test_origin_is_the_period_valid_when_the_number_was_issued() -> None:
    # 419001 was 义马市 in 1987–1989 and has been 济源市 since 1996.
    assert parse_id_number(valid("41900119880101001")).origin.name == "义马市"
    assert parse_id_number(valid("41900120000101001")).origin.name == "济源市"
    # Born in a year when the code meant nothing: any period of it is the best hint.
    assert parse_id_number(valid("41900119920101001")).origin.name == "济源市"


def test_origin_of_someone_born_before_the_first_id_cards_uses_a_1980s_code() -> None:
    # 崇文区 (110103, retired 2010) is valid from 1981, the table's first year; a 1930 birth still finds it.
    origin = parse_id_number(valid("11010319300101001")).origin
    assert origin is not None and origin.name == "崇文区"


@pytest.mark.parametrize(("sequence", "sex"), [("001", "M"), ("002", "F"), ("019", "M"), ("990", "F")])
def test_an_odd_sequence_is_a_man(sequence: str, sex: str) -> None:
    assert parse_id_number(valid("62010219800101" + sequence)).sex == sex


# check_character and masking


@pytest.mark.parametrize("body", ["1101051949123100", "110105194912310022", "1101051949123100X", "１" * 17, ""])
def test_check_character_needs_seventeen_ascii_digits(body: str) -> None:
    with pytest.raises(ValueError, match="17 ASCII digits"):
        check_character(body)


@pytest.mark.parametrize(("number", "masked"), [
    ("620102194703131181", "**************1181"),
    ("62010219470313123X", "**************123X"),
    ("110105491231002", "***********1002"),
    ("12345678", "********"),
    ("", ""),
])
def test_mask_keeps_the_first_and_last_four(number: str, masked: str) -> None:
    assert mask_id_number(number) == masked


# Properties

AREA_CODES = sorted({a.code for p in provinces() for a in children(p.code)}
                    | {a.code for p in provinces() for pref in children(p.code) for a in children(pref.code)}
                    | {"110103", "440524", "419001"})  # and some retired or reused codes
BODIES = st.builds(lambda area, born, seq: f"{area}{born:%Y%m%d}{seq:03d}",
                   st.sampled_from(AREA_CODES), st.dates(date(1880, 1, 1), date(2023, 12, 31)), st.integers(0, 999))


@given(BODIES)
def test_any_body_with_its_check_character_validates(body: str) -> None:
    number = valid(body)
    assert normalize_id_number(number) == number
    assert normalize_id_number(number.lower()) == number


@given(BODIES)
def test_any_other_check_character_fails(body: str) -> None:
    right = check_character(body)
    for wrong in "0123456789X".replace(right, ""):
        with pytest.raises(CodeError) as caught:
            normalize_id_number(body + wrong)
        assert (caught.value.message, caught.value.params) == (BAD_CHECK, {"expected": right})


@given(BODIES, st.integers(0, 16), st.integers(1, 9))
def test_any_single_changed_digit_is_caught(body: str, position: int, delta: int) -> None:
    changed = body[:position] + str((int(body[position]) + delta) % 10) + body[position + 1:]
    assert check_character(changed) != check_character(body)  # MOD 11-2 catches every substitution
    assert not is_valid_id_number(changed + check_character(body))


@given(BODIES, st.integers(0, 15))
def test_any_swap_of_two_different_neighbours_is_caught(body: str, position: int) -> None:
    swapped = body[:position] + body[position + 1] + body[position] + body[position + 2:]
    if swapped != body:
        assert check_character(swapped) != check_character(body)


@given(BODIES, st.data())
def test_normalisation_is_idempotent_whatever_the_spelling(body: str, data: st.DataObject) -> None:
    number = valid(body)
    spelled = "".join(data.draw(st.sampled_from([c, chr(ord(c) + 0xFEE0), c + " ", c + "-", c.lower()]))
                      for c in number)
    assert normalize_id_number(spelled) == number
    assert normalize_id_number(normalize_id_number(spelled)) == number


@given(st.sampled_from(AREA_CODES), st.dates(date(1900, 1, 1), date(1999, 12, 31)), st.integers(0, 999))
def test_any_valid_fifteen_digit_number_converts_to_a_valid_eighteen(area: str, born: date, seq: int) -> None:
    old = f"{area}{born:%y%m%d}{seq:03d}"
    new = normalize_id_number(old)
    assert new == valid(f"{area}{born:%Y%m%d}{seq:03d}")
    assert parse_id_number(old).birth_date == born


@given(st.text(alphabet="0123456789X", min_size=9, max_size=20))
def test_masking_keeps_the_length_and_hides_area_and_birth_date_together(number: str) -> None:
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    assert masked[-4:] == number[-4:]
    assert set(masked[:-4]) <= {"*"}


@given(st.text(max_size=25))
def test_arbitrary_input_either_normalises_or_raises_code_error(raw: str) -> None:
    try:
        number = normalize_id_number(raw)
    except CodeError:
        return
    assert len(number) == 18 and is_valid_id_number(number)
