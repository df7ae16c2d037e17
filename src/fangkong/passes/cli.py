"""`fangkong passes …`: rotate the signing key, purge applications past their retention."""

from __future__ import annotations

import typer
from rich.console import Console

from fangkong.core.context import Actor, acting_as
from fangkong.core.settings import load_settings

passes_app = typer.Typer(help="Green-channel passes.", no_args_is_help=True)
console = Console()


@passes_app.command("rotate-key")
def rotate_key() -> None:
    """Make a new signing key. Passes already issued keep their tokens: the old public key stays published
    at /passes/keys.json until the last pass it signed expires."""
    from fangkong.passes.tokens import key_ring

    settings = load_settings()
    ring = key_ring(settings.var_dir)
    old = ring.current_id
    new = ring.rotate()
    console.print(f"[green]Signing key rotated: {old} → {new}.[/] Running servers pick it up at their next signature.")


@passes_app.command("purge")
def purge() -> None:
    """Delete pass applications (and their passes) past their retention period; print how many."""
    from fangkong.core.db import Database
    from fangkong.passes.service import purge_expired

    settings = load_settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    try:
        with acting_as(Actor(username="cli:passes-purge")), db.unit_of_work() as session:
            count = purge_expired(session)
    finally:
        db.dispose()
    console.print(f"Purged {count} pass applications past their retention period.")
