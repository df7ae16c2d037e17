"""`fangkong followups generate`: the nightly job that makes the next day's follow-up lists (cron it at night;
the lists also fill themselves for a jurisdiction when a page opens them)."""

from __future__ import annotations

import getpass
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.console import Console

from fangkong.core import audit
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database
from fangkong.core.settings import load_settings
from fangkong.observation.followups import generate_follow_ups, local_today

followups_app = typer.Typer(help="Follow-ups (随访): generate the daily lists.", no_args_is_help=True)
console = Console()


@followups_app.command("generate")
def generate(day: Annotated[str, typer.Option(help="Local day YYYY-MM-DD; default tomorrow.")] = "") -> None:
    """Create the day's follow-up for every observation open on that day (safe to run twice)."""
    try:
        target = date.fromisoformat(day) if day else local_today() + timedelta(days=1)
    except ValueError:
        console.print("[red]--day: use the form YYYY-MM-DD.[/]")
        raise typer.Exit(2) from None
    settings = load_settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    with acting_as(Actor(username=f"cli:{getpass.getuser()}")), db.unit_of_work() as session:
        created = generate_follow_ups(session, target)
        audit.record(session, "generate", "follow_ups", None, day=target.isoformat(), created=created)
    db.dispose()
    console.print(f"{target.isoformat()}: {created} follow-ups created.")
