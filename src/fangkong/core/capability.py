"""The capability object: what one capability folder contributes to the platform, declared in one place.

Each folder (`leads/`, `checkpoints/` …) has a `capability.py` holding one `Capability`; the ordered list
of them is `fangkong.capabilities.CAPABILITIES`, and `app.py`, the CLI, migrations and tracing read
everything from there (as NetBox's registry collects what each app contributes). Nothing else lists
capabilities. `validate` checks the list at start so a typo fails loudly instead of a route or a
figure silently missing.

The `figures` hook answers "how much of my work happened on this day, per unit": it returns rows
(unit id, key, value) for the units that own the counted objects. `command` stores them as daily
roll-ups and sums them over any unit subtree; a capability never needs to know the tree.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.exports import ExportSpec
from fangkong.core.imports import ImportSpec
from fangkong.core.models import Role, User
from fangkong.core.scheduler import Job
from fangkong.core.web.fastpath import FastRoute
from fangkong.core.web.limits import Upload
from fangkong.core.web.templating import NavItem

KEY = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")  # "<capability>.<figure>"
NAME = re.compile(r"[a-z][a-z_]*")


@dataclass(frozen=True)
class DayWindow:
    """One local day, as the daily report counts it: [start, end) in aware datetimes."""

    day: date

    @property
    def start(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=LOCAL_TZ)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=1)


@dataclass(frozen=True)
class FigureKind:
    """A figure a capability reports: its key, label (msgid) and how it adds up over days.

    `flow` figures count events of the day and add up into running totals (vehicles checked); `stock`
    figures are a state at the day's end (persons under observation) and never add up over days.
    """

    key: str
    label: str
    unit: str = ""  # msgid of the counting word shown after the number: 辆, 人, 条 …
    kind: Literal["flow", "stock"] = "flow"
    editable: bool = False  # the daily report lets a unit correct it (what the platform cannot know)
    incident: bool = False  # something happened that must be reported: a zero report (零报告) is refused then


Figure = tuple[int, str, int]  # (unit id, key, value)
FiguresFn = Callable[[Session, DayWindow], Iterable[Figure]]


@dataclass(frozen=True)
class Tile:
    """One tile on a role's home page: a count, what it counts, where it leads; `alert` shows it red."""

    value: int | str
    label: str  # msgid, translated when shown
    href: str
    alert: bool = False
    order: int = 50


@dataclass(frozen=True)
class OfflinePage:
    """Pages under `prefix` that the roles open without the network (issue 20): the service worker keeps the
    copy last seen online, and the forms on them marked `data-offline` queue their submissions."""

    prefix: str
    roles: frozenset[str]


@dataclass(frozen=True)
class PersonPanel:
    """A section a capability adds to the person file page (people/person.html includes `template` with
    `p` = `context`), so person files show what other capabilities hold without knowing them."""

    template: str
    context: Mapping[str, Any]


TilesFn = Callable[[Session, User, Any], Sequence[Tile]]  # (session, user, settings)
PersonPanelFn = Callable[[Session, User, int], PersonPanel | None]  # (session, user, person id)
Hook = Callable[[Any], Any]  # receives the FastAPI app; may return an awaitable


@dataclass(frozen=True)
class Capability:
    """Everything one capability folder plugs into the platform. Every field but `name` is optional."""

    name: str
    pages: Sequence[Any] = ()  # APIRouters of HTML pages
    api: Sequence[Any] = ()  # APIRouters under /api/v1
    nav: Sequence[NavItem] = ()
    templates: Path | None = None
    permissions: Mapping[str, frozenset[str]] = field(default_factory=dict)  # role -> actions it grants
    models: Sequence[str] = ()  # modules that define its tables (imported for metadata and migrations)
    timeline: Sequence[Callable[..., Any]] = ()  # person timeline entry sources
    presence: Sequence[Callable[[Any], Callable[..., Any]]] = ()  # settings -> tracing presence source
    place_namers: Sequence[Callable[..., dict[str, str]]] = ()
    status_listeners: Sequence[Callable[[Any], Callable[..., Any]]] = ()  # settings -> listener
    fast_routes: Sequence[FastRoute] = ()
    uploads: Sequence[Upload] = ()  # paths whose bodies may be as large as an uploaded sheet (core.web.limits)
    retention: Sequence[Callable[..., dict[str, int]]] = ()  # (session, settings, now) -> counts purged
    cli: Sequence[Callable[[Any, Any], None]] = ()  # (root Typer app, platform): registers its commands
    start: Sequence[Hook] = ()  # run in the lifespan, in capability order
    stop: Sequence[Hook] = ()  # run at shutdown, in reverse order (drain writers here, not on_shutdown)
    jobs: Sequence[Job] = ()  # rules the scheduler evaluates without anyone looking
    tiles: TilesFn | None = None
    person_panels: Sequence[PersonPanelFn] = ()  # sections of the person file page
    figures: FiguresFn | None = None
    figure_kinds: Sequence[FigureKind] = ()
    exports: Sequence[ExportSpec] = ()  # its list pages' Excel exports (core.exports)
    imports: Sequence[ImportSpec] = ()  # its sheet uploads, read as background jobs when big (core.imports)
    offline: Sequence[OfflinePage] = ()  # field pages that open offline
    # (GET path, msgid naming it) of reference data the field needs offline: kept, shown with its age
    lookups: Sequence[tuple[str, str]] = ()


class CapabilityError(ValueError):
    """A capability declaration is wrong; raised at start, naming the capability and the field."""


def validate(capabilities: Sequence[Capability]) -> None:
    """Raise CapabilityError on any inconsistency between the declarations."""
    names: set[str] = set()
    keys: set[str] = set()
    export_keys: set[str] = set()
    import_keys: set[str] = set()
    roles = {str(r) for r in Role}
    for cap in capabilities:
        where = f"capability {cap.name!r}"
        if not isinstance(cap, Capability):
            raise CapabilityError(f"{cap!r} is not a Capability")
        if not NAME.fullmatch(cap.name) or cap.name in names:
            raise CapabilityError(f"{where}: name must be lowercase and unique")
        names.add(cap.name)
        for nav in cap.nav:
            if not nav.path.startswith("/") or not set(nav.roles) <= roles:
                raise CapabilityError(f"{where}: nav {nav.path!r}: bad path or unknown role")
        for role in cap.permissions:
            if role not in roles:
                raise CapabilityError(f"{where}: permissions for unknown role {role!r}")
        if cap.templates is not None and not cap.templates.is_dir():
            raise CapabilityError(f"{where}: template folder {cap.templates} does not exist")
        for module in cap.models:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise CapabilityError(f"{where}: models module {module!r} cannot be imported: {exc}") from exc
        for route in cap.fast_routes:
            if not isinstance(route, FastRoute):
                raise CapabilityError(f"{where}: fast route {route!r} is not a FastRoute")
        if bool(cap.figure_kinds) != (cap.figures is not None):
            raise CapabilityError(f"{where}: `figures` and `figure_kinds` go together")
        for kind in cap.figure_kinds:
            if not KEY.fullmatch(kind.key) or not kind.key.startswith(cap.name + ".") or kind.key in keys:
                raise CapabilityError(f"{where}: figure key {kind.key!r} must be unique and start with "
                                      f"{cap.name + '.'!r}")
            keys.add(kind.key)
        for spec in cap.exports:
            if not isinstance(spec, ExportSpec) or not spec.key.startswith(cap.name + ".") or spec.key in export_keys:
                raise CapabilityError(f"{where}: export {getattr(spec, 'key', spec)!r} must be an ExportSpec "
                                      f"with a unique key starting with {cap.name + '.'!r}")
            export_keys.add(spec.key)
        for sheet in cap.imports:
            if not isinstance(sheet, ImportSpec) or not sheet.key.startswith(cap.name + ".") \
                    or sheet.key in import_keys:
                raise CapabilityError(f"{where}: import {getattr(sheet, 'key', sheet)!r} must be an ImportSpec "
                                      f"with a unique key starting with {cap.name + '.'!r}")
            import_keys.add(sheet.key)
        for page in cap.offline:
            if not isinstance(page, OfflinePage) or not page.prefix.startswith("/") or not set(page.roles) <= roles:
                raise CapabilityError(f"{where}: offline page {page!r}: bad path or unknown role")
        for lookup in cap.lookups:
            if not isinstance(lookup, tuple) or len(lookup) != 2 or not str(lookup[0]).startswith("/"):
                raise CapabilityError(f"{where}: lookup {lookup!r} is not (path, label)")
        for job in cap.jobs:
            if not isinstance(job, Job) or job.every_seconds < 1:
                raise CapabilityError(f"{where}: job {job!r} is not a Job with a positive period")
        for hook_field in ("timeline", "presence", "place_namers", "status_listeners", "cli", "start", "stop",
                           "person_panels"):
            for hook in getattr(cap, hook_field):
                if not callable(hook):
                    raise CapabilityError(f"{where}: {hook_field} entry {hook!r} is not callable")
        for name in ("tiles", "figures"):
            hook = getattr(cap, name)
            if hook is not None and not callable(hook):
                raise CapabilityError(f"{where}: {name} is not callable")


def figure_kinds(capabilities: Sequence[Capability]) -> dict[str, FigureKind]:
    """Return every declared figure by key, in declaration order."""
    return {kind.key: kind for cap in capabilities for kind in cap.figure_kinds}


class Platform:
    """The validated list of capabilities and what they contribute, collected once."""

    def __init__(self, capabilities: Sequence[Capability]) -> None:
        validate(capabilities)
        self.capabilities = tuple(capabilities)

    def _all(self, name: str) -> list[Any]:
        return [item for cap in self.capabilities for item in getattr(cap, name)]

    @property
    def routers(self) -> list[Any]:
        return self._all("pages") + self._all("api")

    @property
    def nav(self) -> list[NavItem]:
        return self._all("nav")

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        return tuple(cap.templates for cap in self.capabilities if cap.templates is not None)

    @property
    def timeline_sources(self) -> list[Callable[..., Any]]:
        return self._all("timeline")

    @property
    def person_panels(self) -> list[PersonPanelFn]:
        return self._all("person_panels")

    @property
    def place_namers(self) -> list[Callable[..., dict[str, str]]]:
        return self._all("place_namers")

    @property
    def fast_routes(self) -> list[FastRoute]:
        return self._all("fast_routes")

    @property
    def uploads(self) -> list[Upload]:
        return self._all("uploads")

    @property
    def purgers(self) -> list[Callable[..., dict[str, int]]]:
        return self._all("retention")

    def presence_sources(self, settings: Any) -> tuple[Callable[..., Any], ...]:
        return tuple(make(settings) for make in self._all("presence"))

    def status_listeners(self, settings: Any) -> tuple[Callable[..., Any], ...]:
        return tuple(make(settings) for make in self._all("status_listeners"))

    def import_models(self) -> None:
        for module in self._all("models"):
            importlib.import_module(module)

    def grant_permissions(self) -> None:
        """Add what each capability grants to the roles' permissions (idempotent)."""
        from fangkong.core.access import grant

        for cap in self.capabilities:
            for role, actions in cap.permissions.items():
                grant(role, actions)

    @property
    def exports(self) -> list[ExportSpec]:
        return self._all("exports")

    @property
    def imports(self) -> list[ImportSpec]:
        return self._all("imports")

    @property
    def offline_pages(self) -> list[OfflinePage]:
        return self._all("offline")

    @property
    def lookups(self) -> list[tuple[str, str]]:
        return self._all("lookups")

    @property
    def jobs(self) -> list[Job]:
        return self._all("jobs")

    def register_cli(self, app: Any) -> None:
        for register in self._all("cli"):
            register(app, self)

    def tiles(self, session: Session, user: User, settings: Any) -> list[Tile]:
        found = [tile for cap in self.capabilities if cap.tiles is not None
                 for tile in cap.tiles(session, user, settings)]
        return sorted(found, key=lambda t: t.order)

    @property
    def figure_kinds(self) -> dict[str, FigureKind]:
        return figure_kinds(self.capabilities)

    def figures(self, session: Session, window: DayWindow) -> list[Figure]:
        """Return every capability's (unit id, key, value) rows for the day.

        A row whose key the capability did not declare raises CapabilityError: stored, it would be a figure
        no page shows; dropped, a count would vanish without anyone noticing."""
        rows: list[Figure] = []
        for cap in self.capabilities:
            if cap.figures is None:
                continue
            declared = {kind.key for kind in cap.figure_kinds}
            for row in cap.figures(session, window):
                if row[1] not in declared:
                    raise CapabilityError(f"capability {cap.name!r}: its figures gave the undeclared key {row[1]!r}")
                rows.append(row)
        return rows

    async def start(self, app: Any) -> None:
        for hook in self._all("start"):
            result = hook(app)
            if hasattr(result, "__await__"):
                await result

    async def stop(self, app: Any) -> None:
        for hook in reversed(self._all("stop")):
            result = hook(app)
            if hasattr(result, "__await__"):
                await result
