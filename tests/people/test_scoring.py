"""Scoring rules of record linkage: folding, digit typos, vetoes, and when a link may be automatic."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.codes import check_character
from fangkong.people.folding import fold_address, fold_name, name_key, surname_key
from fangkong.people.scoring import CERTAIN, NO, UNCERTAIN, VETO, Side, decide, near_digits, near_numbers, score_pairs

ADDRESS = "甘肃省兰州市城关区酒泉路街道庆阳路18号3栋2单元501室"


def _one(record: dict[str, str], candidate: dict[str, str]) -> tuple[float, int, list[str]]:
    scores = score_pairs(Side.of([record]), Side.of([candidate]))
    return float(scores.score[0]), int(scores.verdict[0]), scores.reasons_of(0)


def _side(name: str = "张伟", birth: str = "19850312", address: str = ADDRESS, phone: str = "", id_number: str = "",
          sex: str = "") -> dict[str, str]:
    return {"name": fold_name(name), "name_key": name_key(name), "birth": birth, "address": fold_address(address),
            "phone": phone, "id_number": id_number, "sex": sex}


def _id_number(seq: int) -> str:
    body = f"62010219850312{seq:03d}"
    return body + check_character(body)


def test_traditional_and_simplified_names_fold_to_one_name() -> None:
    assert fold_name("張偉") == fold_name("张伟") == "张伟"
    assert fold_name("歐陽 娜娜") == "欧阳娜娜"
    assert fold_name("阿不都·热合曼") == "阿不都热合曼"
    assert fold_address("甘肅省蘭州市 城關區") == "甘肃省兰州市城关区"


def test_homophones_share_the_pinyin_key_but_not_the_folded_name() -> None:
    assert name_key("张伟") == name_key("张玮") == name_key("張偉") == "zhangwei"
    assert fold_name("张伟") != fold_name("张玮")
    assert surname_key("欧阳娜娜") == "ou"


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.integers(0, 6))
def test_two_swapped_adjacent_digits_are_near(digits: str, at: int) -> None:
    swapped = digits[:at] + digits[at + 1] + digits[at] + digits[at + 2:]
    equal, near = near_digits(np.array([digits], object), np.array([swapped], object), 8)
    assert bool(equal[0]) == (digits == swapped)
    assert bool(near[0]) == (digits != swapped)
    equal_n, near_n = near_numbers(np.array([int(digits)]), np.array([int(swapped)]), 8)
    assert (bool(equal_n[0]), bool(near_n[0])) == (bool(equal[0]), bool(near[0]))


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.integers(0, 7), st.integers(0, 7))
def test_two_digits_wrong_apart_are_not_near(digits: str, first: int, second: int) -> None:
    if abs(first - second) < 2:
        return
    changed = list(digits)
    for at in (first, second):
        changed[at] = str((int(changed[at]) + 1) % 10)
    _equal, near = near_digits(np.array([digits], object), np.array(["".join(changed)], object), 8)
    assert not near[0]


def test_same_name_birth_date_and_address_is_certain() -> None:
    _score, verdict, reasons = _one(_side(), _side(id_number=_id_number(123)))
    assert verdict == CERTAIN and {"name_exact", "birth_exact", "address_same"} <= set(reasons)


def test_traditional_spelling_with_the_same_phone_is_certain() -> None:
    _score, verdict, _ = _one(_side("張偉", birth="", address="", phone="13912345678"),
                              _side(phone="13912345678"))
    assert verdict == CERTAIN


def test_a_homophone_is_never_linked_automatically_even_with_everything_else_equal() -> None:
    score, verdict, reasons = _one(_side("张玮", phone="13912345678"), _side(phone="13912345678"))
    assert verdict == UNCERTAIN and "name_pinyin" in reasons and score > 10


def test_a_record_with_its_own_valid_id_number_is_never_linked_by_fuzzy_rules() -> None:
    _score, verdict, _ = _one(_side(id_number=_id_number(123)), _side())
    assert verdict == UNCERTAIN


@given(st.sampled_from(["张伟", "張偉", "张玮"]), st.sampled_from(["19850312", "19853012", ""]),
       st.sampled_from([ADDRESS, "", "兰州市城关区"]), st.sampled_from(["13912345678", ""]))
def test_two_different_valid_id_numbers_are_never_the_same_person(name: str, birth: str, address: str,
                                                                    phone: str) -> None:
    score, verdict, _ = _one(_side(name, birth, address, phone, id_number=_id_number(123)),
                             _side(phone=phone, id_number=_id_number(125)))
    assert verdict == NO and score == VETO


def test_different_sexes_and_distant_birth_dates_veto() -> None:
    assert _one(_side(sex="M"), _side(sex="F"))[1] == NO
    assert _one(_side(birth="19850312"), _side(birth="19870312"))[1] == UNCERTAIN  # one digit off
    assert _one(_side(birth="19850312"), _side(birth="19870412"))[1] == NO


def test_a_name_one_character_off_with_birth_and_address_goes_to_review() -> None:
    _score, verdict, reasons = _one(_side("张建国"), _side("张建华"))
    assert verdict == UNCERTAIN and "name_close" in reasons


def test_namesakes_elsewhere_without_birth_date_are_not_matched() -> None:
    assert _one(_side(birth="", address="北京市朝阳区建国路1号"), _side())[1] == NO


@given(st.lists(st.sampled_from([NO, UNCERTAIN, CERTAIN]), max_size=5))
def test_a_record_links_only_when_its_one_plausible_candidate_is_certain(verdicts: list[int]) -> None:
    chosen = decide(verdicts)
    plausible = [v for v in verdicts if v >= UNCERTAIN]
    if chosen >= 0:
        assert verdicts[chosen] == CERTAIN and len(plausible) == 1
    else:
        assert len(plausible) != 1 or plausible[0] != CERTAIN


def test_birth_dates_as_numbers_and_as_text_agree() -> None:
    days = [date(1950, 1, 1) + timedelta(days=n * 97) for n in range(200)]
    a = np.array([int(f"{d:%Y%m%d}") for d in days])
    b = np.array([int(f"{d:%Y%m%d}") for d in reversed(days)])
    text = near_digits(np.array([str(x) for x in a], object), np.array([str(x) for x in b], object), 8)
    numbers = near_numbers(a, b, 8)
    assert (text[0] == numbers[0]).all() and (text[1] == numbers[1]).all()
