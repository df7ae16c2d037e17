"""Unit tests for the cheap guards of the check-in path: venue-code shape, token buckets, form rules."""

from __future__ import annotations

import pytest

from fangkong.core.ratelimit import TokenBucket
from fangkong.registration.venues.checkin import remember_value, remembered, validate_checkin
from fangkong.registration.venues.checkin_limits import TOKEN_LENGTH, is_token, new_token


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_new_codes_have_the_checked_shape_and_do_not_repeat() -> None:
    codes = {new_token() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == TOKEN_LENGTH and is_token(c) for c in codes)


@pytest.mark.parametrize("text", ["", "1", "a" * 21, "a" * 23, "a" * 21 + "!", "a" * 21 + "/", "a" * 21 + "=",
                                  "ａ" * 22, "a" * 21 + "\n", None, "1 OR 1=1--aaaaaaaaaaaaa"[:22]])
def test_malformed_codes_are_rejected_by_shape(text: str | None) -> None:
    assert not is_token(text)


def test_database_ids_are_not_codes() -> None:
    assert not is_token("42") and not is_token("0000000000000000000042"[:21])


def test_bucket_allows_the_burst_then_refuses() -> None:
    bucket = TokenBucket(3, per_second=0.1, clock=FakeClock())
    assert [bucket.allow("phone") for _ in range(4)] == [True, True, True, False]


def test_bucket_refills_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, per_second=0.5, clock=clock)
    assert bucket.allow("k") and bucket.allow("k") and not bucket.allow("k")
    clock.now += 1.0  # half a token
    assert bucket.take("k") >= 1
    clock.now += 1.5
    assert bucket.allow("k") and not bucket.allow("k")


def test_refused_attempts_do_not_push_the_wait_further() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, per_second=1.0, clock=clock)
    assert bucket.allow("k")
    for _ in range(50):
        bucket.allow("k")
    clock.now += 1.0
    assert bucket.allow("k")


def test_keys_have_separate_buckets() -> None:
    bucket = TokenBucket(1, per_second=0.01, clock=FakeClock())
    assert bucket.allow("a") and not bucket.allow("a")
    assert bucket.allow("b")


def test_bucket_memory_stays_bounded_dropping_idle_keys_first() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, per_second=0.5, max_keys=100, clock=clock)
    for n in range(99):
        bucket.allow(f"idle{n}")
    clock.now += 10  # the idle keys are full again
    assert bucket.allow("busy") and bucket.allow("busy")
    for n in range(99):
        bucket.allow(f"new{n}")
    assert len(bucket) <= 100
    assert not bucket.allow("busy")  # a drained key keeps its count while idle ones are dropped


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "１３８００１３８０００", "0086-13800138000"])
def test_check_in_form_normalises_mobile_numbers(raw: str) -> None:
    name, got, errors = validate_checkin({"name": "  张  三 ", "phone": raw})
    assert (name, got, errors) == ("张 三", "13800138000", [])


@pytest.mark.parametrize(("form", "field"), [
    ({"name": "张三", "phone": "010-12345678"}, "phone"),  # a landline
    ({"name": "张三", "phone": "12345"}, "phone"),
    ({"name": "张三", "phone": "1" * 40}, "phone"),
    ({"name": "", "phone": "13800138000"}, "name"),
    ({"name": "<script>alert(1)</script>", "phone": "13800138000"}, "name"),
    ({"name": "http://evil.example", "phone": "13800138000"}, "name"),
    ({"name": "张" * 51, "phone": "13800138000"}, "name"),
    ({"name": "张三\x00", "phone": "13800138000"}, "name"),
])
def test_check_in_form_names_the_field_at_fault(form: dict[str, str], field: str) -> None:
    _name, _phone, errors = validate_checkin(form)
    assert [e.field for e in errors] == [field]


SECRET = "s" * 40


def test_a_tampered_remember_cookie_is_ignored() -> None:
    assert remembered("not base64 at all!", SECRET) == {}
    assert remembered("eyJuIjoiYSIsInAiOiIxMzkxMjM0NTY3OCJ9", SECRET) == {}  # the old plain base64 form
    assert remembered("x" * 1000, SECRET) == {}
    sealed = remember_value("张三", "13912345678", SECRET, 12)
    assert remembered(sealed, SECRET) == {"name": "张三", "phone": "13912345678"}
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    assert remembered(flipped, SECRET) == {} and remembered(sealed, "t" * 40) == {}


def test_the_remember_cookie_holds_nothing_readable_and_expires() -> None:
    import base64
    import time

    sealed = remember_value("张三", "13912345678", SECRET, 12)
    raw = base64.urlsafe_b64decode(sealed + "===")
    assert b"13912345678" not in raw and "张三".encode() not in raw and "13912345678" not in sealed
    assert remembered(sealed, SECRET, now=time.time() + 13 * 3600) == {}
