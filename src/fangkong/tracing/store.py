"""The presence store: every passage, check-in and imported file, columnar on disk, indexed in memory.

Layout of a store directory (survives restarts; a crash before the manifest is rewritten loses nothing
acknowledged, it only leaves an orphan part):
    manifest.json           parts in order, and the content hashes of imported files (idempotent imports)
    persons.parquet         person dictionary: code = row, key text (canonical ints decode to int)
    places.parquet          place dictionary: key text, kind code (PLACE_KINDS)
    parts/NNNNNN.parquet    records as codes: person, place (int32), t_in, t_out (int64 epoch s), source
    index/                  the main layer of the index as .npy arrays, memory-mapped on load, and the parts
                            it covers (meta.json)

The index has two layers (see index.py). The main layer covers the parts folded in by the last
compaction; every later part goes to the delta layer, rebuilt in memory when a part changes (it holds a
day or two of the platform's records, so a record written a second ago is traced without rebuilding the
main layer). `compact` folds every part that can no longer change into the main layer: the scheduler runs
it at night, and a snapshot runs it when the delta has grown past `DELTA_LIMIT` records of final parts
(a big file imported during the day).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from fangkong.core.presence import PresenceRecord
from fangkong.tracing.columns import COLUMNS, Batch, normalise, person_key
from fangkong.tracing.index import ARRAYS, Keys, Layer, PresenceIndex, build_index, build_layer, empty_layer

Progress = Callable[[int, int], None]  # (done, total), in bytes of the file read
DELTA_LIMIT = 2_000_000  # final records in the delta layer before a snapshot compacts


@dataclass(frozen=True)
class ImportResult:
    rows: int
    already_imported: bool
    content_hash: str


def _epoch(value: datetime | int) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("presence times need a time zone")
        return int(value.timestamp() // 1)
    return int(value)


def _record_tuple(r: PresenceRecord) -> tuple[str, str, str, int, int, str]:
    return (str(r.person), r.place, r.place_kind, _epoch(r.t_in), _epoch(r.t_out), r.source)


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:  # what `write` returns is ignored
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _dictionary_encoded(array: pa.Array) -> pa.Array:
    return array if pa.types.is_dictionary(array.type) else array.dictionary_encode()


def _save_array(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:  # a handle, because np.save would append .npy to a .tmp name
        np.save(handle, np.ascontiguousarray(array))


def file_hash(path: Path, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 of a file's bytes (imports are idempotent by content, not by name)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _read_table(path: Path, progress: Progress | None) -> pa.Table:
    """Return a CSV or Parquet file as a table, reporting bytes read; CSV columns stay text until checked."""
    total = path.stat().st_size
    if path.suffix.lower() in (".parquet", ".pq"):
        reader = pq.ParquetFile(path)
        groups = []
        for i in range(reader.num_row_groups):
            groups.append(reader.read_row_group(i))
            if progress:
                progress(total * (i + 1) // max(reader.num_row_groups, 1), total)
        return pa.concat_tables(groups) if groups else reader.schema_arrow.empty_table()
    convert = pcsv.ConvertOptions(column_types={c: pa.string() for c in COLUMNS}, strings_can_be_null=False)
    batches = []
    with path.open("rb") as raw, pcsv.open_csv(raw, convert_options=convert) as reader:
        for batch in reader:
            batches.append(batch)
            if progress:
                progress(min(raw.tell(), total), total)
        schema = reader.schema
    return pa.Table.from_batches(batches, schema=schema)


def index_batch(batch: Batch) -> PresenceIndex:
    """Return the index over checked records held only in memory (a file traced without a store)."""
    return build_index(batch.person, batch.place, batch.t_in, batch.t_out, batch.place_kind,
                       Keys([person_key(k) for k in batch.person_keys]), Keys(batch.place_keys))


def read_presence_file(path: Path | str, progress: Progress | None = None) -> Batch:
    """Return a CSV or Parquet presence file checked and encoded; raise ImportFailed naming bad rows."""
    path = Path(path)
    return normalise(_read_table(path, progress), default_source=path.name)


class PresenceStore:
    """A presence store in a directory; one writer at a time (a file lock), readers take snapshots."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        (self.path / "parts").mkdir(parents=True, exist_ok=True)
        self._index: PresenceIndex | None = None
        self._index_parts: list[str] | None = None
        self._main: tuple[list[str], Layer] | None = None
        self._main_stamp = 0
        self._keys_cache: tuple[tuple[int, ...], tuple[Keys, Keys, np.ndarray]] | None = None
        self._dictionaries: dict[str, tuple[int, pa.Table, dict[str, int]]] = {}

    # -- on disk -----------------------------------------------------------------------------------------

    def _manifest(self) -> dict:
        file = self.path / "manifest.json"
        return json.loads(file.read_text()) if file.exists() else {"parts": [], "imports": {}}

    def _save_manifest(self, manifest: dict) -> None:
        _write_atomic(self.path / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=1)))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.path / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _dictionary(self, name: str) -> pa.Table:
        file = self.path / f"{name}.parquet"
        if file.exists():
            return pq.read_table(file)
        kind = {"key": pa.string()} | ({"kind": pa.int8()} if name == "places" else {})
        return pa.schema(kind).empty_table()

    @property
    def records(self) -> int:
        """Return how many presence records the store holds."""
        return sum(part["rows"] for part in self._manifest()["parts"])

    # -- writing -----------------------------------------------------------------------------------------

    def _known(self, name: str) -> tuple[pa.Table, dict[str, int]]:
        """Return a dictionary and its key -> code map, cached until the file changes."""
        file = self.path / f"{name}.parquet"
        stamp = file.stat().st_mtime_ns if file.exists() else 0
        cached = self._dictionaries.get(name)
        if cached is None or cached[0] != stamp:
            table = self._dictionary(name)
            cached = (stamp, table, {k: i for i, k in enumerate(table["key"].to_pylist())})
            self._dictionaries[name] = cached
        return cached[1], cached[2]

    def _codes(self, name: str, keys: list[str], kinds: np.ndarray | None = None) -> np.ndarray:
        """Return store codes for a batch's keys, adding new keys to the dictionary (and checking kinds)."""
        table, known = self._known(name)
        codes = np.array([known.get(k, -1) for k in keys], np.int32)
        if kinds is not None and len(table):
            stored = table["kind"].to_numpy()
            clash = [k for k, c, kind in zip(keys, codes, kinds, strict=True) if c >= 0 and stored[c] != kind]
            if clash:
                raise ValueError(f"place {clash[0]!r} is already in the store with another place_kind")
        new = np.flatnonzero(codes < 0)
        if len(new):
            codes[new] = np.arange(len(table), len(table) + len(new), dtype=np.int32)
            added = {"key": pa.array([keys[i] for i in new], pa.string())}
            if kinds is not None:
                added["kind"] = pa.array(kinds[new], pa.int8())
            merged = pa.concat_tables([table, pa.table(added, schema=table.schema)])
            _write_atomic(self.path / f"{name}.parquet", lambda p: pq.write_table(merged, p))
        return codes

    def write_batch(self, batch: Batch, content_hash: str | None = None, label: str | None = None,
                    digest: str = "", open_until: int | None = None) -> int:
        """Store checked records as a new part; return how many were written.

        A part written with a `label` replaces the part of that label, if any (the platform's daily parts
        are rewritten on every sync; see tracing/sync.py). Unlabelled parts are never replaced. A part
        with `open_until` (epoch seconds) may still be replaced until then: compaction leaves it alone.
        """
        with self._locked():
            manifest = self._manifest()
            if content_hash and content_hash in manifest["imports"]:
                return 0
            old = [p for p in manifest["parts"] if label is not None and p.get("label") == label]
            manifest["parts"] = [p for p in manifest["parts"] if p not in old]
            if len(batch):
                persons = self._codes("persons", batch.person_keys)[batch.person]
                places = self._codes("places", batch.place_keys, batch.place_kind)[batch.place]
                manifest["next_part"] = number = manifest.get("next_part", len(manifest["parts"]) + len(old)) + 1
                name = f"{number:06d}.parquet"
                part = pa.table({"person": persons, "place": places, "t_in": batch.t_in, "t_out": batch.t_out,
                                 "source": _dictionary_encoded(batch.source)})
                _write_atomic(self.path / "parts" / name, lambda p: pq.write_table(part, p))
                t_max = int(batch.t_out.max())
                manifest["parts"].append({"name": name, "rows": len(batch), "t_max": t_max}
                                         | ({"label": label} if label else {})
                                         | ({"open_until": open_until} if open_until else {}))
            if content_hash:
                manifest["imports"][content_hash] = {"rows": len(batch)}
            if label is not None:
                manifest.setdefault("labels", {})[label] = {"rows": len(batch), "digest": digest}
            self._save_manifest(manifest)
            for part in old:  # only once the manifest no longer names them
                (self.path / "parts" / part["name"]).unlink(missing_ok=True)
        return len(batch)

    def labels(self) -> dict[str, str]:
        """Return label -> digest of what was written under it (a label without records has no part)."""
        return {k: v["digest"] for k, v in self._manifest().get("labels", {}).items()}

    def append_table(self, table: pa.Table, source: str = "") -> int:
        """Check and store a table with the presence columns; raise ImportFailed naming bad rows."""
        return self.write_batch(normalise(table, default_source=source))

    def append(self, records: Iterable[PresenceRecord], label: str | None = None, open_until: int | None = None
               ) -> int:
        """Store records the platform writes (passages, check-ins), as a part replacing `label`'s.

        With a label, writing the same records again changes nothing (no new part, no index rebuild).
        """
        rows = list(records)
        digest = hashlib.sha256(repr(sorted(map(_record_tuple, rows))).encode()).hexdigest() if label else ""
        if label is not None and self.labels().get(label) == digest:
            return 0
        table = pa.table({
            "person": pa.array([str(r.person) for r in rows], pa.string()),
            "place": pa.array([r.place for r in rows], pa.string()),
            "place_kind": pa.array([r.place_kind for r in rows], pa.string()),
            "t_in": pa.array([_epoch(r.t_in) for r in rows], pa.int64()),
            "t_out": pa.array([_epoch(r.t_out) for r in rows], pa.int64()),
            "source": pa.array([r.source for r in rows], pa.string()),
        })
        return self.write_batch(normalise(table, default_source="platform"), label=label, digest=digest,
                                open_until=open_until)

    def import_file(self, path: Path | str, progress: Progress | None = None) -> ImportResult:
        """Import a CSV or Parquet file of presence records, once per content; raise ImportFailed on bad rows."""
        path = Path(path)
        content = file_hash(path)
        if content in self._manifest()["imports"]:
            return ImportResult(0, True, content)
        batch = read_presence_file(path, progress)
        return ImportResult(self.write_batch(batch, content), False, content)

    # -- reading -----------------------------------------------------------------------------------------

    def _load_records(self, parts: list[str]) -> tuple[np.ndarray, ...]:
        columns = ["person", "place", "t_in", "t_out"]
        tables = [pq.read_table(self.path / "parts" / name, columns=columns) for name in parts]
        if not tables:
            return tuple(np.zeros(0, np.int64) for _ in columns)
        table = pa.concat_tables(tables)
        return tuple(table[c].to_numpy() for c in columns)

    def part_paths(self) -> list[Path]:
        """Return the files of the parts the manifest names now (Spark reads them directly)."""
        return [self.path / "parts" / part["name"] for part in self._manifest()["parts"]]

    def dictionaries(self) -> tuple[Keys, Keys, np.ndarray]:
        """Return (person keys, place keys, kind per place) by code."""
        return self._keys()

    def _keys(self) -> tuple[Keys, Keys, np.ndarray]:
        """Return the dictionaries, read again only when their files change, and then only their new tail
        decoded (a million person keys take a second to decode; a new record adds one)."""
        files = [self.path / f"{name}.parquet" for name in ("persons", "places")]
        stamps = tuple(x for f in files for x in ((f.stat().st_mtime_ns, f.stat().st_size) if f.exists() else (0, 0)))
        cached = self._keys_cache
        if cached is not None and cached[0] == stamps:
            return cached[1]
        persons_table, places_table = self._dictionary("persons"), self._dictionary("places")
        old_persons, old_places = (cached[1][0], cached[1][1]) if cached else (Keys([]), Keys([]))
        if len(persons_table) < len(old_persons) or len(places_table) < len(old_places):
            old_persons, old_places = Keys([]), Keys([])  # a store rewritten from scratch
        new_persons = persons_table["key"].slice(len(old_persons)).to_pylist()
        persons = old_persons.extended([person_key(k) for k in new_persons]) if new_persons else old_persons
        new_places = places_table["key"].slice(len(old_places)).to_pylist()
        places = old_places.extended(new_places) if new_places else old_places
        kinds = places_table["kind"].to_numpy() if len(places_table) else np.zeros(0, np.int8)
        result = (persons, places, kinds.astype(np.int8))
        self._keys_cache = (stamps, result)
        return result

    def _layer(self, parts: list[str], persons: int, places: int) -> Layer:
        person, place, t_in, t_out = self._load_records(parts)
        return build_layer(person, place, t_in, t_out, persons, places)

    def _saved_main(self) -> tuple[list[str], Layer] | None:
        """Return the main layer on disk and the parts it covers, or None when there is none.

        `index/current.json` names the folder of the current main layer; a compaction writes a new folder
        and then replaces that file, so a reader (another worker) never sees half a layer.
        """
        pointer = self.path / "index" / "current.json"
        if not pointer.exists():
            return None
        stamp = pointer.stat().st_mtime_ns
        if self._main is not None and self._main_stamp == stamp:
            return self._main
        current = json.loads(pointer.read_text())
        folder = self.path / "index" / current["folder"]
        if not all((folder / f"{name}.npy").exists() for name in ARRAYS):
            return None
        self._main = (current["parts"], Layer(**{name: np.load(folder / f"{name}.npy", mmap_mode="r")
                                                 for name in ARRAYS}))
        self._main_stamp = stamp
        return self._main

    def _save_main(self, layer: Layer, parts: list[str]) -> None:
        root = self.path / "index"
        root.mkdir(exist_ok=True)
        pointer = root / "current.json"
        previous = json.loads(pointer.read_text())["folder"] if pointer.exists() else None
        number = int(previous.removeprefix("main-")) + 1 if previous else 1
        folder = root / f"main-{number:06d}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for name in ARRAYS:
            _save_array(folder / f"{name}.npy", getattr(layer, name))
        _write_atomic(pointer, lambda p: p.write_text(json.dumps({"folder": folder.name, "parts": parts})))
        self._main_stamp = pointer.stat().st_mtime_ns
        for old in root.iterdir():  # readers that mapped an old layer keep it until they let go (Linux)
            if old.is_dir() and old.name != folder.name:
                shutil.rmtree(old, ignore_errors=True)

    def final_parts(self, now: int | None = None) -> list[dict]:
        """Return the manifest's parts that can no longer change (see `compact`)."""
        now = int(time.time()) if now is None else now
        return [p for p in self._manifest()["parts"] if p.get("open_until", 0) <= now]

    def needs_compaction(self, now: int | None = None) -> bool:
        """Return whether some final part is not yet in the main layer on disk."""
        main = self._saved_main()
        covered = set(main[0]) if main else set()
        return any(p["name"] not in covered for p in self.final_parts(now))

    def compact(self, now: int | None = None, persist: bool = True) -> int:
        """Fold every part that can no longer change into the main layer; return the records it covers.

        A part is final unless it was written with an `open_until` still ahead of `now` (today's and
        yesterday's platform parts). Run at night by the scheduler (COMPACT_JOB); the main layer is
        rebuilt whole, under the store's lock, and written beside the old one before it replaces it.
        """
        with self._locked():
            final = [p["name"] for p in self.final_parts(now)]
            persons, places, _kinds = self._keys()
            layer = self._layer(final, len(persons), len(places))
            if persist:
                self._save_main(layer, final)
            self._main = (final, layer)
            self._index = None
        return layer.records

    def purge_before(self, cutoff: int) -> int:
        """Remove the parts whose every record ended before `cutoff` (epoch s); return the records removed.

        Labels stay in the manifest, so a purged platform day is not fetched again; the main layer is
        rebuilt by the next snapshot (its parts are gone).
        """
        with self._locked():
            manifest = self._manifest()
            for part in manifest["parts"]:
                if "t_max" not in part:  # parts written before the manifest kept it
                    t_out = pq.read_table(self.path / "parts" / part["name"], columns=["t_out"])["t_out"]
                    part["t_max"] = int(pc.max(t_out).as_py() or 0)
            gone = [p for p in manifest["parts"] if p["t_max"] < cutoff]
            manifest["parts"] = [p for p in manifest["parts"] if p not in gone]
            self._save_manifest(manifest)
            for part in gone:
                (self.path / "parts" / part["name"]).unlink(missing_ok=True)
        return sum(p["rows"] for p in gone)

    def snapshot(self, persist: bool = True) -> PresenceIndex:
        """Return the index over every record stored so far: the main layer and a delta over newer parts.

        Built once per change of the manifest: a new or rewritten part rebuilds only the delta, unless a
        part of the main layer is gone (a purge) or the delta holds more than DELTA_LIMIT final records,
        when the main layer is compacted first.
        """
        manifest = self._manifest()
        parts = [part["name"] for part in manifest["parts"]]
        if self._index is not None and self._index_parts == parts:
            return self._index
        persons, places, kinds = self._keys()
        main = self._saved_main() or self._main  # another process may have compacted since
        now = int(time.time())
        if main is not None:
            delta_parts = [p for p in manifest["parts"] if p["name"] not in set(main[0])]
            final_rows = sum(p["rows"] for p in delta_parts if p.get("open_until", 0) <= now)
        if main is None or not set(main[0]) <= set(parts) or final_rows > DELTA_LIMIT:
            self.compact(now, persist)
            main = self._main
        assert main is not None
        covered = set(main[0])
        delta_names = [name for name in parts if name not in covered]
        delta = self._layer(delta_names, len(persons), len(places)) if delta_names else empty_layer()
        index = PresenceIndex(main[1], delta, kinds, persons, places)
        self._index, self._index_parts = index, parts
        return index
