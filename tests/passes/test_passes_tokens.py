"""The signed token: forged, altered, expired, malformed and rotated keys (issue 18)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from fangkong.passes.tokens import Claims, KeyRing, decode, extract, payload
from fangkong.passes.verification import check_token
from tests.passes.conftest import PLATE, application, approve, first_pass, reference_of, send_application, verify

NOW = datetime(2022, 3, 10, 12, tzinfo=UTC)


def _claims(ring: KeyRing, **over: object) -> Claims:
    base = {"key_id": ring.current_id, "pass_id": 42, "kind": "vehicle", "valid_from": NOW - timedelta(days=1),
            "valid_until": NOW + timedelta(days=1), "subject": PLATE}
    return Claims(**{**base, **over})  # type: ignore[arg-type]


def test_a_genuine_token_checks_and_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path)
    token = ring.sign(_claims(ring))
    assert len(token) < 140
    assert check_token(ring, token, "甘a-12345", NOW, set()).valid
    assert check_token(ring, f"https://fk.example.gov.cn/passes/verify#{token}", PLATE, NOW, set()).valid
    claims = decode(token)[0]
    assert (claims.pass_id, claims.kind, claims.subject, claims.valid_until) == (42, "vehicle", PLATE,
                                                                                  NOW + timedelta(days=1))


def test_an_altered_token_is_forged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path)
    token = ring.sign(_claims(ring))
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-70] ^= 0x01  # a byte of the subject: another plate
    altered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert check_token(ring, altered, PLATE, NOW, set()).outcome in ("forged", "malformed")
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[14:18] = int((NOW + timedelta(days=300)).timestamp()).to_bytes(4, "big")  # a longer validity
    longer = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert check_token(ring, longer, PLATE, NOW, set()).outcome == "forged"


def test_a_token_signed_by_another_key_is_forged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = KeyRing(tmp_path / "ours"), KeyRing(tmp_path / "theirs")
    forged = theirs.sign(_claims(theirs, key_id=theirs.current_id))
    assert check_token(ours, forged, PLATE, NOW, set()).outcome == "forged"
    body = payload(_claims(ours))  # our key id, their signature
    theirs._load()
    signature = theirs._current[1].sign(body)  # type: ignore[index]
    token = base64.urlsafe_b64encode(body + signature).rstrip(b"=").decode()
    assert check_token(ours, token, PLATE, NOW, set()).outcome == "forged"


def test_garbage_is_malformed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path)
    for text in ("", "hello", "A" * 500, "!!!!", base64.urlsafe_b64encode(b"\x01" * 90).decode()):
        assert check_token(ring, text, PLATE, NOW, set()).outcome == "malformed"


def test_expired_not_yet_valid_revoked_and_plate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path)
    token = ring.sign(_claims(ring))
    assert check_token(ring, token, PLATE, NOW + timedelta(days=2), set()).outcome == "expired"
    assert check_token(ring, token, PLATE, NOW - timedelta(days=2), set()).outcome == "not_yet_valid"
    assert check_token(ring, token, PLATE, NOW, {42}).outcome == "revoked"
    assert check_token(ring, token, "甘A54321", NOW, set()).outcome == "plate_mismatch"


def test_rotation_keeps_old_tokens_verifying(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path)
    old = ring.sign(_claims(ring))
    first = ring.current_id
    assert ring.rotate() != first
    assert check_token(ring, old, PLATE, NOW, set()).valid
    other_process = KeyRing(tmp_path)  # a server started before the rotation reads the new pointer
    assert other_process.current_id == ring.current_id
    assert (tmp_path / f"{first}.key").stat().st_mode & 0o777 == 0o600


def test_extract_takes_the_token_from_a_url() -> None:
    assert extract(" https://x/passes/verify#abc_-DEF ") == "abc_-DEF"


def test_an_expired_pass_is_refused_at_the_checkpoint(client, db, personas, checkpoints) -> None:  # type: ignore[no-untyped-def]
    from fangkong.passes.applications import today

    found = application(db, reference_of(send_application(client, document=None)))
    past = today() - timedelta(days=10)
    approve(personas, found.id, valid_from=past.isoformat(), valid_until=(past + timedelta(days=3)).isoformat())
    answer = verify(personas, checkpoints[0], first_pass(db, found.id).token).json()
    assert answer["outcome"] == "expired" and answer["message"] == "This pass has expired."


def test_forged_and_unknown_tokens_are_refused_and_recorded(issued, personas, checkpoints, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stranger = KeyRing(tmp_path / "stranger")
    forged = stranger.sign(Claims(stranger.current_id, issued.id, "vehicle", issued.valid_from, issued.valid_until,
                                  PLATE))
    answer = verify(personas, checkpoints[0], forged).json()
    assert answer["outcome"] == "forged" and not answer["green_lane"] and answer["pass_id"] is None
    assert verify(personas, checkpoints[0], "999999").json()["outcome"] == "unknown"


def test_keys_json_is_public_and_cacheable_and_drops_nothing_still_needed(client, issued, settings) -> None:  # type: ignore[no-untyped-def]
    from fangkong.passes.tokens import key_ring

    first = client.get("/passes/keys.json")
    assert first.headers["cache-control"].startswith("public")
    assert [k["kid"] for k in first.json()["keys"]] == [issued.key_id]
    key_ring(settings.var_dir).rotate()
    kids = {k["kid"]: k for k in client.get("/passes/keys.json").json()["keys"]}
    assert issued.key_id in kids and kids[issued.key_id]["until"] and len(kids) == 2
