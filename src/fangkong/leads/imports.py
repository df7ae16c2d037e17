"""A pushed lead sheet as a background job when it is big (core.imports): read and checked, previewed
(with the column mapping to correct), then taken in, matched and dispatched on confirmation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core.access import LEAD_INTAKE, require
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.imports import ImportContext, ImportOutcome, ImportSpec, PreviewOutcome
from fangkong.core.models import User
from fangkong.leads import web
from fangkong.leads.deadlines import PRIORITIES
from fangkong.leads.sheet_import import NAME_SOURCE, import_sheet, preview_sheet, read, remembered_mapping
from fangkong.leads.sheets import ParsedSheet

CHOOSE = N_("Choose one of the options.")


def _mapping(params: Mapping[str, str]) -> dict[str, str] | None:
    """Return the mapping the user chose (the preview's remap, or the one the preview showed), if any."""
    raw = params.get("mapping") or ""
    try:
        chosen = json.loads(raw) if raw else None
    except ValueError:
        raise ValidationFailed.one("mapping", CHOOSE) from None
    if chosen is not None and not (isinstance(chosen, dict) and all(isinstance(v, str) for v in chosen.values())):
        raise ValidationFailed.one("mapping", CHOOSE)
    return chosen


def _check(_session: Session, user: User, params: Mapping[str, str]) -> None:
    require(user, LEAD_INTAKE)
    errors = []
    if not " ".join(str(params.get("source") or "").split()):
        errors.append(FieldError("source", NAME_SOURCE))
    if params.get("priority") and params["priority"] not in PRIORITIES:
        errors.append(FieldError("priority", CHOOSE))
    if errors:
        raise ValidationFailed(errors)
    _mapping(params)


def _read(ctx: ImportContext) -> ParsedSheet:
    with ctx.work() as (session, _user):  # the source's remembered mapping: a short read
        mapping = remembered_mapping(session, ctx.params["source"], _mapping(ctx.params))
    return read(ctx.data, ctx.file_name, mapping, ctx.progress)  # outside any transaction: seconds


def _preview(ctx: ImportContext) -> PreviewOutcome:
    sheet = _read(ctx)
    with ctx.work() as (session, user):  # known leads and the earlier batch of the same file; audited
        preview = preview_sheet(session, user, ctx.settings, ctx.params["source"], ctx.file_name, ctx.data,
                                _mapping(ctx.params), sheet=sheet, keep=False)
        return PreviewOutcome(preview.summary(), len(sheet.rows), len(preview.good))


def _write(ctx: ImportContext, session: Session, user: User, sheet: ParsedSheet) -> ImportOutcome:
    shown = {sheet.headers[i]: f for i, f in sheet.mapping.items() if sheet.headers[i]}
    batch, result = import_sheet(session, user, ctx.settings, ctx.params["source"], "", ctx.file_name, shown,
                                 two_legs=ctx.params.get("two_legs") in ("on", "1", "true"),
                                 priority=ctx.params.get("priority") or "", data=ctx.data, sheet=sheet,
                                 progress=ctx.progress)
    found: dict[str, Any] = {"batch_id": batch.id, "already_imported": result is None}
    if result is not None:
        found.update(new=result.new, repeated=result.repeated, rejected=result.rejected)
    return ImportOutcome(result.new if result else 0, f"/leads/batches/{batch.id}", found)


IMPORTS = (ImportSpec(key="leads.sheet", title=N_("Import a sheet of leads"), permission=LEAD_INTAKE,
                      form="/leads/import", params=("source", "mapping", "priority", "two_legs"),
                      confirm_params=("priority", "two_legs", "mapping"), check=_check, preview=_preview,
                      prepare=_read, write=_write, page=web.job_page,
                      remap=lambda form: {"mapping": json.dumps(web.mapping_from(form), ensure_ascii=False)}),)
