"""`fangkong venues …`: the batch step of check-in (link visits to person files), from the terminal or cron."""

from __future__ import annotations

import typer
from rich.console import Console

from fangkong.core.context import Actor, acting_as
from fangkong.core.settings import load_settings

venues_app = typer.Typer(help="Venues and check-ins.", no_args_is_help=True)
console = Console()


@venues_app.command("link-visits")
def link_visits(batch: int = typer.Option(1000, min=1, max=20000, help="Visits per transaction.")) -> None:
    """Link every visit not yet linked to a person file (match on phone and name, else a new file).

    The check-in writer does this in its idle time and every read of visits does it first; this
    command catches up after an outage or a peak (safe to run beside the server: PostgreSQL skips
    rows another worker is linking)."""
    from fangkong.core.db import Database
    from fangkong.registration.venues.service import link_pending_visits

    settings = load_settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    total = 0
    try:
        while True:
            with acting_as(Actor(username="cli:link-visits")), db.unit_of_work() as session:
                done = link_pending_visits(session, limit=batch)
            total += done
            if done < batch:
                break
    finally:
        db.dispose()
    console.print(f"[green]Linked {total} visits to person files.[/]")
