"""A case's contacts as the case page and the trace report list them (issue 22), usable at hundreds.

Close contacts are grouped by place and time: a group is one stay of the case at a place (the index's
stay the exposure overlaps), so the market on Tuesday and the market on Thursday are two groups. At a
household the same people are met every night: one group per household, one row per member listing
the nights. Each contact belongs to a unit, the one its lead went (or will go) to: the unit of the lead
once dispatched, else where the dispatch plan places it (tracing/dispatch.py), else its person file's.
The lists filter by that unit (a district takes in its stations) and by place, and are paged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.i18n import N_, gettext
from fangkong.tracing.cases import CaseView, ContactView
from fangkong.tracing.terms import Stay

HOUSEHOLD = "household"
KIND_LABELS = {"venue": N_("Venue"), "checkpoint": N_("Checkpoint"), "vehicle": N_("Vehicle"),
               "household": N_("Residence"), "grid": N_("Grid cell"), "interview": N_("Interview")}
SLACK_S = 3600  # an exposure lies within its index stay widened by τ (≤ 1 h in every profile)
ROWS_PER_PAGE = 200  # close-contact rows per page
SECONDARY_PER_PAGE = 100


def local(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC).astimezone(LOCAL_TZ)


def day_text(at: datetime) -> str:
    """Return a local date as staff write it (3月2日; 3/2 in English)."""
    return gettext("{month}/{day}", month=at.month, day=at.day)


def span_text(start: int, end: int) -> str:
    """Return a stay or an overlap in local time; one that crosses midnight shows both dates
    (3月2日 22:10 – 3月3日 06:40)."""
    a, b = local(start), local(end)
    if a.date() == b.date():
        return f"{day_text(a)} {a:%H:%M}" + (f"–{b:%H:%M}" if b != a else "")
    return f"{day_text(a)} {a:%H:%M} – {day_text(b)} {b:%H:%M}"


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    parent_id: int | None
    path: str  # "/1/4/17/": the unit's ancestors and itself


@dataclass(frozen=True)
class Filters:
    unit: int | None = None
    place: str = ""

    def query(self, **extra: object) -> str:
        """Return the page's query string with these filters (and `extra`), empty values left out."""
        params = {"unit": self.unit or "", "place": self.place, **extra}
        return urlencode({k: v for k, v in params.items() if v not in ("", None, 0)})


@dataclass(frozen=True)
class Row:
    contact: ContactView
    spans: list[str]  # the overlaps in this group (the nights, at a household)
    start: int
    unit_name: str
    first: bool = False  # the contact's first row on the page: its strike form goes there


@dataclass
class Group:
    place: str
    kind: str
    start: int
    end: int
    rows: list[Row] = field(default_factory=list)
    continued: bool = False  # begun on the previous page

    @property
    def when(self) -> str:
        """The case's stay (or, at a household, the first to the last night)."""
        return span_text(self.start, self.end) if self.start else ""


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    count: int
    depth: int = 0


@dataclass(frozen=True)
class ContactLists:
    filters: Filters
    groups: list[Group]  # this page's close contacts
    close_count: int  # close contacts matching the filters
    rows_total: int
    page: int
    pages: int
    secondary: list[tuple[ContactView, str]]  # this page's secondary contacts, with their unit's name
    secondary_count: int
    spage: int
    spages: int
    unit_options: list[Option]
    place_options: list[Option]


def _index_stay(stays: Sequence[Stay], place: str, start: int, end: int) -> Stay | None:
    for stay in stays:
        if stay.place == place and stay.t_in - SLACK_S <= end and start <= stay.t_out + SLACK_S:
            return stay
    return None


def group_close(close: Iterable[ContactView], trajectory: Sequence[Stay], unit_names: dict[int, str],
                place: str = "") -> list[Group]:
    """Return close contacts grouped by place and time, in time order; at a household one row per member
    with its nights. `unit_names` maps exposure id → the name of the contact's unit."""
    stays = sorted(trajectory, key=lambda s: s.t_in)
    groups: dict[tuple[str, int], Group] = {}
    spans: dict[tuple[str, int], dict[int, list[tuple[int, int]]]] = {}
    contacts: dict[int, ContactView] = {}
    for contact in close:
        contacts[contact.exposure.id] = contact
        for e in contact.evidence or [{"place": "—", "kind": "interview", "start": 0, "end": 0}]:
            key_place, kind = str(e["place"]), str(e.get("kind", ""))
            if place and key_place != place:
                continue
            start, end = int(e["start"]), int(e["end"])  # type: ignore[call-overload]
            stay = None if kind == HOUSEHOLD else _index_stay(stays, key_place, start, end)
            if stay is not None:
                key, bounds = (key_place, stay.t_in), (stay.t_in, stay.t_out)
            else:  # a household's nights together; elsewhere, without the case's stay, the day's
                key, bounds = (key_place, 0 if kind == HOUSEHOLD else -local(start).toordinal()), (start, end)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key_place, kind, *bounds)
            group.start, group.end = min(group.start, bounds[0]), max(group.end, bounds[1])
            spans.setdefault(key, {}).setdefault(contact.exposure.id, []).append((start, end))
    out = []
    for key, group in groups.items():
        for exposure_id, overlaps in spans[key].items():
            overlaps.sort()
            group.rows.append(Row(contacts[exposure_id], [span_text(a, b) for a, b in overlaps if a],
                                  overlaps[0][0], unit_names.get(exposure_id, "")))
        group.rows.sort(key=lambda r: (r.start, r.contact.name, r.contact.exposure.id))
        out.append(group)
    out.sort(key=lambda g: (not g.start, g.start, g.place))  # the interview's contacts without a time last
    return out


def page_of(groups: Sequence[Group], page: int, per_page: int = ROWS_PER_PAGE) -> tuple[list[Group], int, int]:
    """Return one page of rows (groups split across pages say they continue), the page and the pages."""
    total = sum(len(g.rows) for g in groups)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    lo, hi, seen, out = (page - 1) * per_page, page * per_page, 0, []
    first: set[int] = set()
    for group in groups:
        n = len(group.rows)
        if seen + n > lo and seen < hi:
            rows = group.rows[max(0, lo - seen):hi - seen]
            marked = []
            for row in rows:
                marked.append(Row(row.contact, row.spans, row.start, row.unit_name,
                                  row.contact.exposure.id not in first))
                first.add(row.contact.exposure.id)
            out.append(Group(group.place, group.kind, group.start, group.end, marked, continued=lo > seen))
        seen += n
    return out, page, pages


def in_unit(unit_id: int | None, wanted: int, units: dict[int, UnitInfo]) -> bool:
    info = units.get(unit_id) if unit_id is not None else None
    return info is not None and f"/{wanted}/" in info.path


def unit_options(unit_of: dict[int, int | None], units: dict[int, UnitInfo]) -> list[Option]:
    """Return the units the contacts go to, each under its parent, with counts (a parent counts its own
    and its children's)."""
    counts: Counter[int] = Counter()
    for unit_id in unit_of.values():
        info = units.get(unit_id) if unit_id is not None else None
        for ancestor in ([int(x) for x in info.path.strip("/").split("/") if x] if info else []):
            counts[ancestor] += 1
    shown = [u for u in units.values() if counts[u.id]]
    depth = {u.id: u.path.strip("/").count("/") for u in shown}
    top = min(depth.values(), default=0)
    # a single root holding everything says nothing: start below it when it has no contacts of its own
    roots = [u for u in shown if depth[u.id] == top]
    own = Counter(unit_of.values())
    if len(roots) == 1 and not own[roots[0].id] and len(shown) > 1:
        shown.remove(roots[0])
        top += 1
    ordered = sorted(shown, key=lambda u: [units[int(x)].name if int(x) in units else x
                                           for x in u.path.strip("/").split("/") if x])
    return [Option(str(u.id), u.name, counts[u.id], depth[u.id] - top) for u in ordered]


def place_options(close: Iterable[ContactView], names: dict[str, str]) -> list[Option]:
    counts: Counter[str] = Counter()
    for contact in close:
        counts.update({str(e["place"]) for e in contact.evidence})
    return sorted((Option(p, names.get(p, p), n) for p, n in counts.items()), key=lambda o: (-o.count, o.label))


def filtered(view: CaseView, unit_of: dict[int, int | None], units: dict[int, UnitInfo], filters: Filters
             ) -> tuple[list[ContactView], list[ContactView]]:
    """Return the close and secondary contacts the filters keep: those of the unit (or its stations) and, for
    a place, the close contacts met there and the secondary contacts that came through them."""
    def wanted(contact: ContactView) -> bool:
        return filters.unit is None or in_unit(unit_of.get(contact.exposure.id), filters.unit, units)

    close = [c for c in view.close if wanted(c)
             and (not filters.place or any(str(e["place"]) == filters.place for e in c.evidence))]
    via = {c.exposure.contact_key for c in close}
    secondary = [c for c in view.secondary if wanted(c) and (not filters.place or via.intersection(c.via))]
    return close, secondary


def in_place_order(close: Sequence[ContactView], trajectory: Sequence[Stay], place: str = "") -> list[ContactView]:
    """Return close contacts once each, in the order of their first group (those of one place together)."""
    seen: dict[int, ContactView] = {}
    for group in group_close(close, trajectory, {}, place):
        for row in group.rows:
            seen.setdefault(row.contact.exposure.id, row.contact)
    return list(seen.values())


def contact_lists(view: CaseView, unit_of: dict[int, int | None], units: dict[int, UnitInfo], filters: Filters,
                  page: int = 1, spage: int = 1) -> ContactLists:
    """Return the case page's lists for these filters and pages."""
    names = {eid: units[uid].name for eid, uid in unit_of.items() if uid is not None and uid in units}
    close, secondary = filtered(view, unit_of, units, filters)
    groups = group_close(close, view.trajectory, names, filters.place)
    shown, page, pages = page_of(groups, page)
    spages = max(1, -(-len(secondary) // SECONDARY_PER_PAGE))
    spage = min(max(1, spage), spages)
    listed = [(c, names.get(c.exposure.id, "")) for c in
              secondary[(spage - 1) * SECONDARY_PER_PAGE:spage * SECONDARY_PER_PAGE]]
    return ContactLists(filters, shown, len(close), sum(len(g.rows) for g in groups), page, pages, listed,
                        len(secondary), spage, spages, unit_options(unit_of, units),
                        place_options(view.close, view.places))
