"""A batch's trace as Arrow tables and Parquet files (issue 22): thousands of links without Python objects.

Persons and places are dictionary-encoded columns over the store's dictionaries: the engine's code arrays
become the indices as they are, so a million secondary links cost a few copies of integer arrays, not a
million objects. One table holds both hops: an exposure row (hop 1: contact, place, start, end) or a
secondary link (hop 2: contact and the close contact it came through).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.tracing.engine import TraceArrays
from fangkong.tracing.index import Keys, PresenceIndex
from fangkong.tracing.terms import IndexCase

TIME = pa.timestamp("s", tz="Asia/Shanghai")
SCHEMA = pa.schema([("case", pa.int32()), ("index", pa.string()), ("hop", pa.int8()),
                    ("person", pa.dictionary(pa.int32(), pa.string())),
                    ("via", pa.dictionary(pa.int32(), pa.string())),
                    ("place", pa.dictionary(pa.int32(), pa.string())), ("start", TIME), ("end", TIME)])

_DICTIONARIES: dict[int, pa.Array] = {}


def _dictionary(keys: Keys) -> pa.Array:
    """Return a dictionary's keys as an Arrow string array (made once per dictionary object)."""
    found = _DICTIONARIES.get(id(keys))
    if found is None or len(found) != len(keys):
        found = pa.array([str(k) for k in keys.values], pa.string())
        _DICTIONARIES.clear()  # one store's dictionaries at a time
        _DICTIONARIES[id(keys)] = found
    return found


def _coded(codes: np.ndarray, keys: Keys) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), _dictionary(keys))


def _nulls(n: int, keys: Keys) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.nulls(n, pa.int32()), _dictionary(keys))


def links_table(ix: PresenceIndex, arrays: TraceArrays) -> pa.Table:
    """Return the secondary links (case row, person, via) of a batch."""
    return pa.table({"case": pa.array(arrays.sec_case.astype(np.int32)),
                     "person": _coded(arrays.sec_person, ix.persons), "via": _coded(arrays.sec_via, ix.persons)})


def contacts_table(ix: PresenceIndex, cases: Sequence[IndexCase], arrays: TraceArrays) -> pa.Table:
    """Return both hops of a batch as one table (SCHEMA): exposures first, then secondary links, by case."""
    n_exp, n_sec = len(arrays.exp_case), len(arrays.sec_case)
    index_keys = np.array([str(c.person) for c in cases], dtype=object)
    case = np.concatenate([arrays.exp_case, arrays.sec_case]).astype(np.int32)
    order = np.argsort(case, kind="stable")
    hop = np.concatenate([np.ones(n_exp, np.int8), np.full(n_sec, 2, np.int8)])
    person = np.concatenate([arrays.exp_person, arrays.sec_person]).astype(np.int32)
    via = pa.concat_arrays([pa.nulls(n_exp, pa.int32()), pa.array(arrays.sec_via.astype(np.int32))])
    place = pa.concat_arrays([pa.array(arrays.exp_place.astype(np.int32)), pa.nulls(n_sec, pa.int32())])
    times = [pa.concat_arrays([pa.array(t.astype(np.int64)), pa.nulls(n_sec, pa.int64())])
             for t in (arrays.exp_start, arrays.exp_end)]
    take = pa.array(order)
    table = pa.table({
        "case": pa.array(case[order]), "index": pa.array(index_keys[case[order]] if len(case) else [], pa.string()),
        "hop": pa.array(hop[order]), "person": pa.DictionaryArray.from_arrays(pa.array(person[order]),
                                                                           _dictionary(ix.persons)),
        "via": pa.DictionaryArray.from_arrays(via.take(take), _dictionary(ix.persons)),
        "place": pa.DictionaryArray.from_arrays(place.take(take), _dictionary(ix.places)),
        "start": times[0].take(take).cast(TIME), "end": times[1].take(take).cast(TIME)})
    return table.cast(SCHEMA)


def write_parquet(path: Path | str, ix: PresenceIndex, cases: Sequence[IndexCase], arrays: TraceArrays) -> int:
    """Write a batch's contacts (contacts_table) to a Parquet file; return the rows written."""
    table = contacts_table(ix, cases, arrays)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows
