"""The `fangkong` command. Commands are thin: they call the same use cases the web routes call."""

from __future__ import annotations

import getpass
import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fangkong.capabilities import platform
from fangkong.core.context import Actor, acting_as
from fangkong.core.models import Role
from fangkong.core.settings import Settings, load_settings

app = typer.Typer(help="fangkong (防控): epidemic prevention and control platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
platform().register_cli(app)
console = Console()
ROLE_NAMES = tuple(str(role) for role in Role)


def _settings(**overrides: object) -> Settings:
    return load_settings(**overrides)


def _cli_actor() -> Actor:
    return Actor(username=f"cli:{getpass.getuser()}")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          upgrade: Annotated[bool, typer.Option(help="Apply migrations first.")] = True,
          workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes. More than one: set "
                                               "FANGKONG_REDIS_URL so that they share limits and caches.")] = 1,
          proxy_headers: Annotated[bool, typer.Option(help="Trust X-Forwarded-For from the reverse proxy "
                                                      "(FORWARDED_ALLOW_IPS names it).")] = False) -> None:
    """Run the web platform."""
    import uvicorn

    from fangkong.app import create_app
    from fangkong.core.migrate import upgrade as migrate

    settings = _settings()
    if upgrade:
        migrate(settings.database_url)
    if workers > 1:
        if settings.is_sqlite:
            typer.echo("note: SQLite serialises writes; for several workers use PostgreSQL", err=True)
        if not settings.redis_url:
            typer.echo("note: without FANGKONG_REDIS_URL each worker keeps its own rate limits and caches", err=True)
        # Each worker builds its app from the same environment. A spawned worker first re-imports this
        # command's modules (the whole platform): on a busy machine that outlasts uvicorn's default 5 s
        # health check, which then kills and restarts it, over and over.
        uvicorn.run("fangkong.app:create_app", factory=True, workers=workers, host=host, port=port,
                    log_level="info", proxy_headers=proxy_headers, timeout_worker_healthcheck=60)
        return
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=proxy_headers)


@app.command()
def demo(
    size: Annotated[int, typer.Option(help="Number of persons in the demo city.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed builds the same city).")] = 2020,
    build_only: Annotated[bool, typer.Option("--build-only", help="Build the demo database and exit.")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Build the demo city (Lanzhou) into a fresh database, print the logins, and serve it."""
    import uvicorn

    from fangkong.app import create_app
    from fangkong.core.db import Database
    from fangkong.core.migrate import upgrade as migrate
    from fangkong.demo.build import build_demo
    from fangkong.demo.outbreak import build_outbreak
    from fangkong.tracing.store import PresenceStore

    settings = _settings(demo=True)
    _reset_embedded(settings)
    migrate(settings.database_url)
    db = Database(settings.database_url, audit_key=settings.audit_key)
    city = build_demo(db, settings, size=size, seed=seed)
    outbreak = build_outbreak(db, PresenceStore(settings.presence_dir), seed=seed)
    with db.unit_of_work() as session:  # the dashboard and reports read the roll-up: fill the last month
        from fangkong.command.web import today
        from fangkong.demo.command import build_command_demo
        from fangkong.demo.passages import build_passage_history

        with acting_as(_cli_actor()):
            build_passage_history(session, today(), seed=seed)
        build_command_demo(session, platform(), today(), seed)
    table = Table(title=f"兰州市 demo: {city.units} units, {city.persons} persons, built in {city.seconds:.1f} s")
    for column in ("username", "password", "role", "unit"):
        table.add_column(column)
    for login in city.logins:
        table.add_row(login.username, login.password, login.role, login.unit)
    console.print(table)
    console.print(f"Tracing: {outbreak.records} stays of the last days are in the presence store; log in as "
                  f"`health` and open /tracing/cases/{outbreak.case_person_id} (a confirmed case) to trace it.")
    if city.checkin_path:
        console.print(f"Venue check-in (public, no login): http://{host}:{port}{city.checkin_path}")
    if build_only:
        db.dispose()
        return
    console.print(f"Open http://{host}:{port}/ and log in with one of the accounts above.")

    uvicorn.run(create_app(settings, db), host=host, port=port, log_level="info")


def _reset_embedded(settings: Settings) -> None:
    """Start the demo from an empty embedded database; never drop a server database."""
    if settings.is_sqlite:
        path = Path(settings.database_url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(settings.presence_dir, ignore_errors=True)  # the demo's movements are rebuilt with it


@app.command()
def setup(
    city: Annotated[str, typer.Option(help="GB/T 2260 code of the city, e.g. 620100 (兰州市).")],
    stations: Annotated[Path | None,
                        typer.Option(help="CSV: 派出所, 区县代码 (or 分局), 辖区街道 (';' between).")] = None,
    admin: Annotated[str, typer.Option(help="Username of the first administrator (password asked for).")] = "",
) -> None:
    """Build a real city's units (city bureau, district sub-bureaus, health commission, stations) and its admin."""
    from fangkong.core.db import Database
    from fangkong.core.errors import ValidationFailed
    from fangkong.core.i18n import gettext
    from fangkong.core.setup import setup_city

    settings = _settings()
    secret = ""
    if admin:
        secret = os.environ.get("FANGKONG_NEW_PASSWORD") or typer.prompt(
            "Password", hide_input=True, confirmation_prompt=True)
    db = Database(settings.database_url, audit_key=settings.audit_key)
    try:
        with acting_as(_cli_actor()), db.unit_of_work() as session:
            result = setup_city(session, settings, city, stations.read_bytes() if stations else None, admin, secret)
            console.print(f"[green]{result.city.name if result.city else city}: {result.districts} districts, "
                          f"{result.stations} stations, {result.areas} streets and towns; "
                          f"{len(result.added)} units added.[/]")
            if result.admin:
                console.print(f"Administrator: {result.admin}")
    except ValidationFailed as exc:
        for err in exc.errors:
            console.print(f"[red]{err.field}: {gettext(err.message, **err.params)}[/]")
        raise typer.Exit(2) from None
    finally:
        db.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply schema migrations up to REVISION (default: the newest)."""
    from fangkong.core.migrate import upgrade as migrate

    settings = _settings()
    migrate(settings.database_url, revision)
    console.print(f"[green]Database at revision {revision}.[/]")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[str, typer.Option(help="One of: " + ", ".join(ROLE_NAMES))],
    unit: Annotated[str, typer.Option(help="Unit code, e.g. 620100.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[str, typer.Option(help="Password; asked for if not given.", hidden=True)] = "",
) -> None:
    """Create a user account (asks for the password unless FANGKONG_NEW_PASSWORD is set)."""
    from sqlalchemy import select

    from fangkong.core.db import Database
    from fangkong.core.errors import DomainError, ValidationFailed
    from fangkong.core.i18n import gettext
    from fangkong.core.models import Unit
    from fangkong.core.units import UserInput, create_user_unchecked

    settings = _settings()
    secret = password or os.environ.get("FANGKONG_NEW_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    db = Database(settings.database_url, audit_key=settings.audit_key)
    try:
        with acting_as(_cli_actor()), db.unit_of_work() as session:
            unit_id = session.execute(select(Unit.id).where(Unit.code == unit)).scalar()
            user = create_user_unchecked(session, settings, UserInput(
                username=username, display_name=name or username, role=role, unit_id=unit_id, password=secret))
            console.print(f"[green]Created user {user.username} ({user.role}).[/]")
    except ValidationFailed as exc:
        for err in exc.errors:
            console.print(f"[red]{err.field}: {gettext(err.message, **err.params)}[/]")
        raise typer.Exit(2) from None
    except DomainError as exc:
        console.print(f"[red]{gettext(exc.detail, **exc.params)}[/]")
        raise typer.Exit(2) from None
    finally:
        db.dispose()


registration_app = typer.Typer(help="Public registrations (arrivals, gatherings).", no_args_is_help=True)
app.add_typer(registration_app, name="registration")


@registration_app.command("purge")
def registration_purge() -> None:
    """Delete arrival and gathering registrations past their retention period; print what was removed."""
    from fangkong.core.db import Database
    from fangkong.registration.retention import purge_expired

    settings = _settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    with acting_as(_cli_actor()), db.unit_of_work() as session:
        purged = purge_expired(session)
    db.dispose()
    console.print(f"Purged {purged.arrivals} arrivals, {purged.gatherings} gatherings "
                  f"and {purged.attendees} attendees past their retention period.")


@app.command()
def purge() -> None:
    """Delete what is past its retention period (visits, passages, registrations, uploaded sheets); print it."""
    from fangkong.capabilities import platform
    from fangkong.core.db import Database
    from fangkong.core.retention import purge as purge_all

    settings = _settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    try:
        with acting_as(_cli_actor()), db.unit_of_work() as session:
            counts = purge_all(session, settings, platform().purgers)
    finally:
        db.dispose()
    for kind, n in counts.items():
        console.print(f"{kind}: {n} removed")


@app.command()
def tick(only: Annotated[list[str] | None, typer.Option(help="Run only these jobs (by name).")] = None) -> None:
    """Run the scheduler's jobs once (escalations, reminders, follow-up lists, roll-ups): for cron."""
    from fangkong.core.db import Database
    from fangkong.core.scheduler import run_jobs

    settings = _settings()
    plat = platform()
    jobs = [j for j in plat.jobs if not only or j.name in only]
    db = Database(settings.database_url, audit_key=settings.audit_key)
    try:
        runs = run_jobs(db, settings, jobs, plat)
    finally:
        db.dispose()
    for run in runs:
        console.print(f"{run.name}: " + (f"[red]failed ({run.error})[/]" if run.error else f"{run.result}"))
    if any(run.error for run in runs):
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit log's keyed hash chain against the newest anchor; exit 1 if it is broken."""
    from fangkong.core.audit_anchor import verify_anchored
    from fangkong.core.db import Database

    settings = _settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    with db.sessions() as session:
        report = verify_anchored(session, settings)
    db.dispose()
    if report.ok:
        where = f", anchored head {report.anchored_id} present" if report.anchored_id else " (no anchor yet)"
        console.print(f"[green]Audit chain intact: {report.rows} entries{where}.[/]")
        return
    console.print(f"[red]Audit chain broken at entry {report.first_bad_id}: {report.reason} "
                  f"({report.rows} entries verified before it).[/]")
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Write a signed checkpoint of the audit chain's head to var/audit_anchors.jsonl and print it."""
    from fangkong.core.audit_anchor import write_anchor
    from fangkong.core.db import Database

    settings = _settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    with db.sessions() as session:
        anchor = write_anchor(session, settings.audit_key, settings.audit_anchor_file)
    db.dispose()
    if anchor is None:
        console.print("The audit log is empty: nothing to anchor.")
        return
    console.print(f"Anchored entry {anchor.head_id} {anchor.head_hash} at {anchor.at} "
                  f"in {settings.audit_anchor_file}")


def main() -> None:
    app(prog_name="fangkong")


if __name__ == "__main__":
    main()
