"""`fangkong trace` and `fangkong presence …`: tracing from files or a store, for analysts (issue 7).

Thin: parse, call the engine (or the Spark backend), print JSON or a Rich table.
"""

from __future__ import annotations

import csv
import json
import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.protocol import DEFAULT_PROFILE, UnknownProfile
from fangkong.tracing import engine
from fangkong.tracing.columns import ImportFailed, person_key
from fangkong.tracing.index import PresenceIndex, keep_freed_memory
from fangkong.tracing.store import PresenceStore, index_batch, read_presence_file
from fangkong.tracing.terms import ContactRules, IndexCase, Trace, contact_rules, format_time

console = Console()
err = Console(stderr=True)


class Engine(StrEnum):
    embedded = "embedded"
    spark = "spark"


def parse_time(text: str, name: str = "time") -> int:
    """Return epoch seconds from ISO 8601 (local time, Asia/Shanghai, when no offset is given) or epoch seconds."""
    text = text.strip()
    try:
        return int(float(text)) if text.lstrip("-").replace(".", "", 1).isdigit() else _iso(text)
    except ValueError:
        message = f"{name}: use ISO 8601 (2022-03-01T09:00+08:00) or epoch seconds, not {text!r}"
        raise typer.BadParameter(message) from None


def _iso(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int(moment.replace(tzinfo=moment.tzinfo or LOCAL_TZ).timestamp())


def _optional_time(text: str | None, name: str) -> int | None:
    return parse_time(text, name) if text and text.strip() else None


def _default_engine() -> str:
    from fangkong.core.settings import load_settings

    return load_settings().tracing_engine


def _default_store() -> Path:
    from fangkong.core.settings import load_settings

    return load_settings().presence_dir


def open_presence(path: Path | None) -> PresenceIndex:
    """Return the index of a prepared store (a directory) or of a CSV/Parquet file read into memory."""
    path = path or _default_store()
    if path.is_dir():
        return PresenceStore(path).snapshot()
    if not path.exists():
        raise typer.BadParameter(f"{path} is neither a presence store nor a file")
    return index_batch(read_presence_file(path))


def read_index_file(path: Path) -> list[IndexCase]:
    """Return index cases from a CSV with columns person, onset, isolated (and optionally contacts_isolated)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    cases = []
    for number, row in enumerate(rows, start=1):
        if not (row.get("person") or "").strip() or not (row.get("onset") or "").strip():
            raise typer.BadParameter(f"{path} row {number}: person and onset are required")
        cases.append(IndexCase(person_key(row["person"].strip()), parse_time(row["onset"], f"row {number} onset"),
                               _optional_time(row.get("isolated"), f"row {number} isolated"),
                               _optional_time(row.get("contacts_isolated"), f"row {number} contacts_isolated")))
    return cases


def _print_trace(result: Trace, seconds: float) -> None:
    isolated = format_time(result.isolated) if result.isolated is not None else "end of data"
    console.print(f"[bold]Index {result.index}[/]: window {format_time(result.window_start)} → {isolated}; "
                  f"{len(result.close)} close, {len(result.secondary)} secondary contacts ({seconds * 1000:.0f} ms)")
    close = Table(title="Close contacts (密接)")
    for column in ("person", "first exposure", "exposures (place: start → end)"):
        close.add_column(column)
    for contact in result.close:
        evidence = "\n".join(f"{e.place}: {format_time(e.start)} → {format_time(e.end)}" for e in contact.exposures)
        close.add_row(str(contact.person), format_time(contact.first_exposure), evidence)
    console.print(close)
    if result.secondary:
        secondary = Table(title="Secondary contacts (次密接)")
        secondary.add_column("person")
        secondary.add_column("via close contacts")
        for second in result.secondary:
            secondary.add_row(str(second.person), ", ".join(map(str, second.via)))
        console.print(secondary)


def _rules(profile: str, lookback_days: int | None, min_overlap: int | None, tolerance: int | None) -> ContactRules:
    try:
        return contact_rules(profile, lookback_days=lookback_days, tolerance_minutes=tolerance,
                             min_overlap_minutes=min_overlap)
    except UnknownProfile as exc:
        raise typer.BadParameter(str(exc), param_hint="--profile") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _run(ix: PresenceIndex, cases: list[IndexCase], rules: ContactRules, hops: int, backend: Engine) -> list[Trace]:
    if backend is Engine.spark:
        from fangkong.tracing.spark import trace_batch as spark_trace

        return spark_trace(ix, cases, rules, hops)
    return engine.trace_batch(ix, cases, rules, hops)


def trace_command(
    presence: Annotated[Path | None, typer.Option(help="Presence file (CSV/Parquet) or store directory.")] = None,
    index: Annotated[str | None, typer.Option(help="The index case's person id.")] = None,
    onset: Annotated[str | None, typer.Option(help="Symptom onset, or sampling if asymptomatic (ISO 8601).")] = None,
    isolated: Annotated[str | None, typer.Option(help="Isolation time (default: end of data).")] = None,
    contacts_isolated: Annotated[str | None, typer.Option(help="When the close contacts were isolated.")] = None,
    index_file: Annotated[Path | None, typer.Option(help="CSV of cases: person, onset, isolated.")] = None,
    hops: Annotated[int, typer.Option(min=1, max=2, help="1: close contacts; 2: and secondary.")] = 2,
    profile: Annotated[str, typer.Option(help="Protocol profile (PROTOCOL.md).")] = DEFAULT_PROFILE,
    lookback_days: Annotated[int | None, typer.Option(help="Override the profile's look-back.")] = None,
    min_overlap_minutes: Annotated[int | None, typer.Option(help="Override m for every place kind.")] = None,
    tolerance_minutes: Annotated[int | None, typer.Option(help="Override τ for every place kind.")] = None,
    engine_name: Annotated[Engine | None, typer.Option(
        "--engine", help="embedded, or spark for a province (default: FANGKONG_TRACING_ENGINE).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the contacts to this Parquet file (one row per exposure or secondary link) "
                      "instead of printing them: for batches with millions of links.")] = None,
) -> None:
    """Trace an index case (or a batch): close contacts with their exposures, and secondary contacts."""
    if (index_file is None) == (index is None):
        raise typer.BadParameter("give either --index (with --onset) or --index-file")
    if index is not None and not onset:
        raise typer.BadParameter("--onset is required with --index", param_hint="--onset")
    keep_freed_memory()
    rules = _rules(profile, lookback_days, min_overlap_minutes, tolerance_minutes)
    cases = read_index_file(index_file) if index_file else [
        IndexCase(person_key(index.strip()), parse_time(onset or "", "--onset"),  # type: ignore[union-attr]
                  _optional_time(isolated, "--isolated"), _optional_time(contacts_isolated, "--contacts-isolated"))]
    engine_name = engine_name or Engine(_default_engine())
    store_dir = presence or _default_store()
    if engine_name is Engine.spark and store_dir.is_dir():  # a province: Spark reads the parts, nothing indexed here
        from fangkong.tracing.spark import trace_store

        started = time.perf_counter()
        results = trace_store(PresenceStore(store_dir), cases, rules, hops)
        _emit(results, index_file is not None, as_json, time.perf_counter() - started)
        return
    try:
        ix = open_presence(presence)
    except ImportFailed as exc:
        err.print(f"[red]{presence}: {exc}[/]")
        raise typer.Exit(2) from None
    started = time.perf_counter()
    if out is not None:
        if engine_name is Engine.spark:
            raise typer.BadParameter("--out writes the embedded engine's arrays; use --engine embedded")
        from fangkong.tracing.results import write_parquet

        arrays = engine.trace_arrays(ix, cases, rules, hops)
        rows = write_parquet(out, ix, cases, arrays)
        console.print(f"{len(cases)} case(s): {len(arrays.close_person)} close contacts, "
                      f"{len(arrays.sec_person)} secondary links → {out} ({rows} rows, "
                      f"{time.perf_counter() - started:.1f} s)")
        return
    results = _run(ix, cases, rules, hops, engine_name)
    _emit(results, index_file is not None, as_json, time.perf_counter() - started)


def _emit(results: list[Trace], batch: bool, as_json: bool, seconds: float) -> None:
    if as_json:
        payload = [r.to_json() for r in results]
        typer.echo(json.dumps(payload if batch else payload[0], ensure_ascii=False, indent=1))
        return
    for result in results:
        _print_trace(result, seconds / max(len(results), 1))


presence_app = typer.Typer(help="Presence store: import files, generate a synthetic city, trajectories.",
                           no_args_is_help=True, callback=keep_freed_memory)
StoreOption = Annotated[Path | None, typer.Option("--store", help="Store directory (default: var/presence).")]


@presence_app.command("import")
def import_command(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], store: StoreOption = None
                   ) -> None:
    """Import a CSV or Parquet file (person, place, place_kind, t_in, t_out, source); once per content."""
    target = PresenceStore(store or _default_store())
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"reading {file.name}", total=file.stat().st_size)
        try:
            result = target.import_file(file, progress=lambda done, total: bar.update(task, completed=done))
        except (ImportFailed, ValueError) as exc:
            err.print(f"[red]{file}: {exc}[/]")
            raise typer.Exit(2) from None
    if result.already_imported:
        console.print(f"{file.name}: already imported (same content); nothing added.")
    else:
        console.print(f"{file.name}: {result.rows} presence records imported; the store holds {target.records}.")


@presence_app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Argument(help="A .parquet or .csv file, or a store directory with --into-store.")],
    records: Annotated[int, typer.Option(help="About how many records (3 per person per day, 30 days).")] = 100_000,
    seed: int = 2022,
    into_store: Annotated[bool, typer.Option("--into-store", help="Write into a store at OUT.")] = False,
) -> None:
    """Generate a synthetic city-month of presence records (a few very busy places, many quiet ones)."""
    from fangkong.tracing.generate import generate_city, to_table

    city = generate_city(records, seed)
    if into_store:
        PresenceStore(out).write_batch(city.batch)
    else:
        to_table(city.batch, out)
    console.print(f"{len(city.batch)} records, {city.persons} persons, {city.places} places → {out}")


@presence_app.command("trajectory")
def trajectory_command(
    person: str, store: StoreOption = None,
    presence: Annotated[Path | None, typer.Option(help="A presence file instead of the store.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Window start (ISO 8601).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Window end (ISO 8601).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a person's stays in a window, ordered, with places and kinds."""
    ix = open_presence(presence or store)
    stays = engine.trajectory(ix, person_key(person), _optional_time(start, "--from"), _optional_time(end, "--to"))
    rows = [{"place": s.place, "place_kind": s.kind, "t_in": format_time(s.t_in), "t_out": format_time(s.t_out)}
            for s in stays]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = Table(title=f"Trajectory of {person}")
    for column in ("place", "place_kind", "t_in", "t_out"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row.values())
    console.print(table)


@presence_app.command("sync")
def sync_command(store: StoreOption = None) -> None:
    """Copy the platform's own stays (passages, check-ins, gatherings) into the store, by day."""
    from fangkong.core.db import Database
    from fangkong.core.settings import load_settings
    from fangkong.tracing.sync import sync_platform

    settings = load_settings()
    presence_sources = _PLATFORM[0].presence_sources
    db = Database(settings.database_url, audit_key=settings.audit_key)
    try:
        with db.unit_of_work() as session:
            result = sync_platform(session, PresenceStore(store or settings.presence_dir), presence_sources(settings),
                                   horizon_days=settings.presence_sync_days)
    finally:
        db.dispose()
    console.print(f"{len(result.days)} days checked, {result.records} records written.")


_PLATFORM: list[Any] = []  # the platform whose sources `presence sync` reads, set by `register`


def register(app: typer.Typer, plat: Any) -> None:
    """Add `trace` and the `presence` group to the fangkong command."""
    _PLATFORM[:] = [plat]
    app.command("trace")(trace_command)
    app.add_typer(presence_app, name="presence")
