"""GB/T 2260 areas: names, history by year, the region tree."""

from __future__ import annotations

import time

import pytest

from fangkong.core.codes import Area, area_name, children, lookup_area, province_of, provinces
from fangkong.core.codes import areas as areas_module


@pytest.mark.parametrize(("code", "full_name"), [
    ("620102", "甘肃省兰州市城关区"),  # county
    ("620100", "甘肃省兰州市"),  # prefecture row: no 兰州市兰州市
    ("620000", "甘肃省"),
    ("110101", "北京市东城区"),  # municipality: no 北京市直辖东城区
    ("429004", "湖北省仙桃市"),  # county directly under a province
    ("810000", "香港特别行政区"),
])
def test_full_names_repeat_nothing(code: str, full_name: str) -> None:
    assert area_name(code) == full_name


def test_an_area_has_its_level_parent_and_period() -> None:
    assert lookup_area("620102") == Area(code="620102", name="城关区", province="甘肃省", prefecture="兰州市",
                                         level="county", first_year=1983, retired_year=None, successors=())
    assert lookup_area("110101").prefecture is None  # 直辖
    assert lookup_area("620100").level == "prefecture"
    assert lookup_area("620000").level == "province"


def test_a_retired_code_is_found_in_its_years_only() -> None:
    chongwen = lookup_area("110103", 2000)
    assert chongwen is not None and chongwen.name == "崇文区"
    assert (chongwen.retired_year, chongwen.successors, chongwen.current) == (2010, ("110101",), False)
    assert lookup_area("110103", 2009) == chongwen
    assert lookup_area("110103", 2010) is None  # the retirement year is exclusive
    assert lookup_area("110103") == chongwen  # no year: the latest period, even if retired
    assert area_name("110103", 2015) is None


def test_a_reused_code_names_a_different_area_per_period() -> None:
    assert lookup_area("419001", 1988).name == "义马市"
    assert lookup_area("419001", 1993) is None  # between the two periods
    assert lookup_area("419001", 2000).name == "济源市"
    assert lookup_area("419001").name == "济源市"  # no year: the current period


def test_successors_drop_their_year_notes() -> None:
    assert lookup_area("130124").successors == ("130108", "130111")  # 130108[2001];130111


@pytest.mark.parametrize("code", ["999999", "", "62010", "6201022", "abcdef"])
def test_unknown_codes_give_none(code: str) -> None:
    assert lookup_area(code) is None and area_name(code) is None


def test_years_before_the_table_give_none() -> None:
    assert lookup_area("620000", 1980) is None and lookup_area("620000", 1981) is not None


def test_provinces_are_the_34_province_level_areas() -> None:
    found = provinces()
    assert len(found) == 34 and all(a.level == "province" and a.current for a in found)
    assert [a.code for a in found] == sorted(a.code for a in found)
    assert {"110000", "420000", "620000", "710000", "810000", "820000"} <= {a.code for a in found}


def test_children_of_a_prefecture_are_its_current_counties() -> None:
    lanzhou = children("620100")
    assert {a.code for a in lanzhou} == {"620102", "620103", "620104", "620105", "620111", "620121", "620122",
                                         "620123"}
    assert all(a.level == "county" and a.current for a in lanzhou)


def test_children_of_a_province_include_counties_directly_under_it() -> None:
    hubei = {a.code for a in children("420000")}
    assert {"420100", "422800", "429004", "429021"} <= hubei
    assert "420000" not in hubei and not any(a.level == "county" and a.prefecture for a in children("420000"))


def test_children_of_a_municipality_are_its_districts() -> None:
    beijing = children("110000")
    assert {"110101", "110105"} <= {a.code for a in beijing} and "110103" not in {a.code for a in beijing}
    assert all(a.level == "county" for a in beijing)


@pytest.mark.parametrize("code", ["620102", "999999", "132100"])  # county, unknown, retired prefecture
def test_nothing_is_below_a_county_an_unknown_or_a_retired_code(code: str) -> None:
    assert children(code) == []


@pytest.mark.parametrize(("code", "province"), [("620102", "甘肃省"), ("110103", "北京市"), ("429004", "湖北省")])
def test_province_of_any_code(code: str, province: str) -> None:
    assert province_of(code).name == province


@pytest.mark.parametrize("code", ["", "99", "990000", "62010X"])
def test_province_of_nonsense_is_none(code: str) -> None:
    assert province_of(code) is None


def test_the_table_loads_once_and_quickly() -> None:
    areas_module._table.cache_clear()
    areas_module._current.cache_clear()
    started = time.perf_counter()
    first = areas_module._table()
    elapsed = time.perf_counter() - started
    assert areas_module._table() is first
    assert len(first) > 3000
    assert elapsed < 1.0, f"loading the area table took {elapsed:.3f} s (target: under 0.1 s)"
