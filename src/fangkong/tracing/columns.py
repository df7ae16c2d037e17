"""Presence records from files: check and normalise the columns `person, place, place_kind, t_in, t_out, source`.

Times may be ISO 8601 with an offset, epoch seconds, or zoned timestamps (Parquet); they become whole epoch
seconds (fractions are dropped). Persons may be ints or strings, places strings (ints are read as text).
A bad value is reported by row (1 = the first data row), never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.core.protocol import PLACE_KINDS
from fangkong.tracing.index import MAX_TIME

REQUIRED = ("person", "place", "place_kind", "t_in", "t_out")
COLUMNS = (*REQUIRED, "source")
MAX_REPORTED = 20
MAX_COUNTED = 10_000  # per check: enough to say how bad a file is without listing every row
NUMERIC = r"^\s*-?\d+(\.\d*)?\s*$"
CANONICAL_INT = re.compile(r"-?[1-9]\d*|0")


@dataclass(frozen=True, order=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


class ImportFailed(ValueError):
    """A file whose rows do not all hold valid presence records; nothing was imported."""

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        self.errors = sorted(errors)[:MAX_REPORTED]
        self.total = total if total is not None else len(errors)  # counted up to MAX_COUNTED per check
        super().__init__(str(self))

    def __str__(self) -> str:
        more = f"\n… and {self.total - len(self.errors)} more" if self.total > len(self.errors) else ""
        return f"{self.total} invalid value(s):\n" + "\n".join(map(str, self.errors)) + more


def person_key(text: str) -> int | str:
    """Return a person key from its stored text: canonical integers ("42", not "042") are ints."""
    return int(text) if CANONICAL_INT.fullmatch(text) else text


def _errors(mask: np.ndarray, column: str, message: str, offset: int) -> list[RowError]:
    rows = np.flatnonzero(mask)
    return [RowError(int(r) + 1 + offset, column, message) for r in rows[:MAX_COUNTED]]


def _text(array: pa.ChunkedArray, column: str, offset: int, errors: list[RowError]) -> pa.Array:
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_integer(array.type):
        array = array.cast(pa.string())
    elif not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        errors.append(RowError(1 + offset, column, f"must be text or whole numbers, not {array.type}"))
        return pa.array([""] * len(array))
    array = pc.utf8_trim_whitespace(array.cast(pa.string()))
    empty = pc.fill_null(pc.equal(array, ""), True).to_numpy(zero_copy_only=False)
    errors += _errors(empty, column, "is empty", offset)
    return pc.fill_null(array, "")


def _python_seconds(values: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Return (seconds, bad mask) parsing ISO 8601 one by one: the slow path, to name the bad rows."""
    out, bad = np.zeros(len(values), np.int64), np.zeros(len(values), bool)
    for i, value in enumerate(values):
        try:
            moment = datetime.fromisoformat(value.strip()) if value else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            bad[i] = True
        else:
            out[i] = int(moment.timestamp() // 1)
    return out, bad


def _string_seconds(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    numeric = pc.fill_null(pc.match_substring_regex(array, NUMERIC), False).to_numpy(zero_copy_only=False)
    out, bad = np.zeros(len(array), np.int64), np.zeros(len(array), bool)
    if numeric.any():
        out[numeric] = np.floor(pc.filter(array, pa.array(numeric)).cast(pa.float64()).to_numpy())
    iso = pc.filter(array, pa.array(~numeric))
    try:
        stamps = iso.cast(pa.timestamp("us", "UTC")).cast(pa.int64())
        if stamps.null_count:
            raise pa.ArrowInvalid("empty")
        out[~numeric] = np.floor_divide(stamps.to_numpy(), 1_000_000)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out[~numeric], bad[~numeric] = _python_seconds(iso.to_pylist())
    return out, bad


def _seconds(array: pa.ChunkedArray, column: str, offset: int, errors: list[RowError]) -> np.ndarray:
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    kind = array.type
    if pa.types.is_timestamp(kind) and kind.tz is None:
        errors.append(RowError(1 + offset, column, "timestamps without a time zone are ambiguous; "
                                                   "store them zoned (UTC) or as epoch seconds"))
        return np.zeros(len(array), np.int64)
    nulls = array.is_null().to_numpy(zero_copy_only=False)
    errors += _errors(nulls, column, "is empty", offset)
    if pa.types.is_timestamp(kind):
        seconds = pc.fill_null(array.cast(pa.timestamp("s", "UTC"), safe=False).cast(pa.int64()), 0).to_numpy()
        bad = np.zeros(len(array), bool)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        seconds, bad = np.floor(pc.fill_null(array.cast(pa.float64()), 0).to_numpy()).astype(np.int64), nulls & False
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        seconds, bad = _string_seconds(pc.fill_null(array.cast(pa.string()), "0"))
    else:
        errors.append(RowError(1 + offset, column, f"must be a time, not {kind}"))
        return np.zeros(len(array), np.int64)
    errors += _errors(bad & ~nulls, column, "is not ISO 8601 with an offset (2022-03-01T09:00:00+08:00) "
                                             "nor epoch seconds", offset)
    errors += _errors(~bad & ~nulls & ((seconds < 0) | (seconds > MAX_TIME)), column,
                      "is outside 1970–2106", offset)
    return seconds


def _kinds(array: pa.ChunkedArray, offset: int, errors: list[RowError]) -> np.ndarray:
    text = pc.utf8_lower(_text(array, "place_kind", offset, errors))
    codes = pc.index_in(text, value_set=pa.array(PLACE_KINDS)).to_numpy(zero_copy_only=False)
    unknown = np.isnan(codes) if codes.dtype.kind == "f" else np.zeros(len(codes), bool)
    errors += _errors(unknown & pc.not_equal(text, "").to_numpy(zero_copy_only=False), "place_kind",
                      f"must be one of {', '.join(PLACE_KINDS)}", offset)
    return np.nan_to_num(codes.astype(np.float64), nan=0).astype(np.int8)


@dataclass(frozen=True)
class Batch:
    """Checked presence records, dictionary-encoded: keys once, then an index per row."""

    person_keys: list[str]  # canonical text (see person_key)
    person: np.ndarray  # int32 index into person_keys, per row
    place_keys: list[str]
    place_kind: np.ndarray  # int8 kind code per place key
    place: np.ndarray  # int32 index into place_keys, per row
    t_in: np.ndarray  # int64 epoch seconds
    t_out: np.ndarray
    source: pa.Array  # str per row

    def __len__(self) -> int:
        return len(self.t_in)


def _encode(array: pa.Array) -> tuple[list[str], np.ndarray]:
    encoded = pc.dictionary_encode(array)
    return encoded.dictionary.to_pylist(), encoded.indices.to_numpy().astype(np.int32)


def _kind_per_place(place: np.ndarray, n_places: int, kind: np.ndarray, offset: int,
                    errors: list[RowError]) -> np.ndarray:
    """Return each place's kind; a place has one kind (its rules depend on it), so contradicting rows are errors."""
    _, first = np.unique(place, return_index=True)
    per_place = np.zeros(n_places, np.int8)
    per_place[place[first]] = kind[first]
    errors += _errors(kind != per_place[place], "place_kind", "differs from the same place's kind in an "
                                                              "earlier row", offset)
    return per_place


def normalise(table: pa.Table, offset: int = 0, default_source: str = "") -> Batch:
    """Return the table's records checked and encoded.

    Raise ImportFailed naming each bad row (offset = rows before this table in its file).
    """
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise ImportFailed([RowError(0, c, "column is missing") for c in missing])
    errors: list[RowError] = []
    person_keys, person = _encode(_text(table["person"], "person", offset, errors))
    place_keys, place = _encode(_text(table["place"], "place", offset, errors))
    kind = _kinds(table["place_kind"], offset, errors)
    t_in = _seconds(table["t_in"], "t_in", offset, errors)
    t_out = _seconds(table["t_out"], "t_out", offset, errors)
    errors += _errors(t_out < t_in, "t_out", "is before t_in", offset)
    per_place = _kind_per_place(place, len(place_keys), kind, offset, errors)
    if errors:
        raise ImportFailed(errors)
    if "source" in table.column_names:
        source = pc.fill_null(table["source"].combine_chunks().cast(pa.string()), default_source)
    else:
        source = pa.array([default_source] * len(table), pa.string())
    return Batch(person_keys, person, place_keys, per_place, place, t_in, t_out, source)
