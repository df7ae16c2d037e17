"""The signed pass token carried in the QR code, and the key ring that signs and checks it.

Binary, so the QR stays small (about 130 characters) and a browser decodes it with a DataView:

    0      version (1)
    1..4   key id (4 bytes: the first bytes of SHA-256 of the public key)
    5..8   pass id (uint32, big-endian)
    9      kind (1 vehicle, 2 person)
    10..13 valid from (uint32 epoch seconds)
    14..17 valid until (uint32 epoch seconds)
    18     subject length n; 19..19+n the subject, UTF-8 (the plate, or the person's name and the
           last four characters of the ID number: no full ID number is printed in a QR)
    then   64 bytes of Ed25519 signature over everything before it

The token is base64url without padding. Keys live in `<var>/passes/keys/` (like the secret key:
generated on first use, never committed); `rotate` makes a new current key and keeps the old public
keys, which go on verifying the passes they signed until those expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

VERSION = 1
KINDS = {"vehicle": 1, "person": 2}
KIND_NAMES = {v: k for k, v in KINDS.items()}
_HEAD = struct.Struct(">B4sIBIIB")  # version, key id, pass id, kind, from, until, subject length
SIGNATURE = 64
MAX_TOKEN = 400  # characters: a longer text is not one of ours (checked before decoding)


class TokenError(ValueError):
    """The text is not a well-formed token, or its signature does not hold; `outcome` says which."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome  # malformed | forged


@dataclass(frozen=True)
class Claims:
    key_id: str
    pass_id: int
    kind: str
    valid_from: datetime
    valid_until: datetime
    subject: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def extract(text: str) -> str:
    """Return the token in what a scanner typed: the bare token, or the verify URL ending in #token."""
    return text.strip().rsplit("#", 1)[-1].rsplit("/", 1)[-1].strip()


def payload(claims: Claims) -> bytes:
    subject = claims.subject[:20].encode()  # at most 60 bytes: the length fits its byte
    return _HEAD.pack(VERSION, bytes.fromhex(claims.key_id), claims.pass_id, KINDS[claims.kind],
                      int(claims.valid_from.timestamp()), int(claims.valid_until.timestamp()), len(subject)) + subject


def decode(token: str) -> tuple[Claims, bytes, bytes]:
    """Return (claims, signed bytes, signature) without checking the signature; raise TokenError."""
    if not token or len(token) > MAX_TOKEN:
        raise TokenError("malformed")
    try:
        raw = _unb64(token)
        version, kid, pass_id, kind, start, end, n = _HEAD.unpack_from(raw)
        body_len = _HEAD.size + n
        subject = raw[_HEAD.size:body_len].decode()
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        raise TokenError("malformed") from None
    if version != VERSION or kind not in KIND_NAMES or len(raw) != body_len + SIGNATURE:
        raise TokenError("malformed")
    claims = Claims(kid.hex(), pass_id, KIND_NAMES[kind], datetime.fromtimestamp(start, UTC),
                    datetime.fromtimestamp(end, UTC), subject)
    return claims, raw[:body_len], raw[body_len:]


def key_id_of(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:8]


class KeyRing:
    """The signing key and every public key kept, read from a folder; re-read when `current` changes
    (a rotation from the CLI reaches running servers at their next signature or unknown key id)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._current: tuple[str, Ed25519PrivateKey] | None = None
        self._public: dict[str, Ed25519PublicKey] = {}

    # --- files ------------------------------------------------------------------------------------
    def _load(self) -> None:
        pointer = self.folder / "current"
        stamp = pointer.stat().st_mtime_ns if pointer.exists() else None
        if stamp is not None and stamp == self._stamp:
            return
        with self._lock:
            if not pointer.exists():
                self._write_new_key()
                stamp = pointer.stat().st_mtime_ns
            kid = pointer.read_text().strip()
            private = Ed25519PrivateKey.from_private_bytes((self.folder / f"{kid}.key").read_bytes())
            self._public = {path.stem: Ed25519PublicKey.from_public_bytes(path.read_bytes())
                            for path in sorted(self.folder.glob("*.pub"))}
            self._current, self._stamp = (kid, private), stamp

    def _write_new_key(self) -> str:
        """Write a new key pair and point `current` at it (private key 0600, written before the pointer)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        kid = key_id_of(private.public_key())
        fd = os.open(self.folder / f"{kid}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
        (self.folder / f"{kid}.pub").write_bytes(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        tmp = self.folder / "current.tmp"
        tmp.write_text(kid)
        tmp.replace(self.folder / "current")  # atomic: a reader sees the old key or the new, never half
        return kid

    def rotate(self) -> str:
        """Make a new signing key; return its id. The old public keys stay to verify what they signed."""
        with self._lock:
            kid = self._write_new_key()
            self._stamp = None
        self._load()
        return kid

    # --- use --------------------------------------------------------------------------------------
    @property
    def current_id(self) -> str:
        self._load()
        assert self._current is not None
        return self._current[0]

    def public_keys(self) -> dict[str, bytes]:
        """Return every public key kept, raw bytes by key id."""
        self._load()
        return {kid: key.public_bytes(Encoding.Raw, PublicFormat.Raw) for kid, key in self._public.items()}

    def sign(self, claims: Claims) -> str:
        """Return the token for the claims (their key id must be the current key's)."""
        self._load()
        assert self._current is not None and claims.key_id == self._current[0]
        body = payload(claims)
        return _b64(body + self._current[1].sign(body))

    def signer(self) -> tuple[str, Callable[[Claims], str]]:
        """Return the current key id and a function signing with that key, for many tokens at once (the
        bulk issue: one look at the key folder, not one per pass)."""
        self._load()
        assert self._current is not None
        kid, private = self._current

        def sign(claims: Claims) -> str:
            body = payload(claims)
            return _b64(body + private.sign(body))

        return kid, sign

    def verify(self, token: str) -> Claims:
        """Return the claims of a genuine token; raise TokenError (malformed or forged) otherwise."""
        claims, body, signature = decode(token)
        self._load()
        key = self._public.get(claims.key_id)
        if key is None:
            self._stamp = None  # perhaps rotated by another process a moment ago
            self._load()
            key = self._public.get(claims.key_id)
        if key is None:
            raise TokenError("forged")
        try:
            key.verify(signature, body)
        except InvalidSignature:
            raise TokenError("forged") from None
        return claims


_RINGS: dict[Path, KeyRing] = {}


def key_ring(var_dir: Path) -> KeyRing:
    """Return the process's key ring for a var folder (one per folder: tests use many)."""
    folder = var_dir / "passes" / "keys"
    ring = _RINGS.get(folder)
    if ring is None:
        ring = _RINGS.setdefault(folder, KeyRing(folder))
    return ring
