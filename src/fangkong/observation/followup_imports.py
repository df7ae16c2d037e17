"""A big filled-in follow-up sheet as a background job (core.imports): read, checked against the user's
follow-ups and, on confirmation, recorded, all or nothing."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from fangkong.core.access import FOLLOWUP_RECORD, require
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.imports import ImportContext, ImportOutcome, ImportSpec, PreviewOutcome
from fangkong.core.models import User
from fangkong.observation import followup_sheets, followup_web


def _check(_session: Session, user: User, _params: Mapping[str, str]) -> None:
    require(user, FOLLOWUP_RECORD)


def _checked(ctx: ImportContext) -> followup_sheets.SheetPreview:
    rows_read = followup_sheets.read_sheet(ctx.file_name, ctx.data, ctx.progress)  # outside any transaction
    with ctx.work() as (session, user):
        return followup_sheets.preview_sheet(session, user, ctx.settings.var_dir, ctx.file_name, ctx.data,
                                             rows_read=rows_read, keep=False, progress=ctx.progress)


def _preview(ctx: ImportContext) -> PreviewOutcome:
    preview = _checked(ctx)
    return PreviewOutcome(preview.summary(), preview.count + preview.skipped, preview.count,
                          followup_sheets.refusals(preview))


def _prepare(ctx: ImportContext) -> followup_sheets.SheetPreview:
    preview = _checked(ctx)
    if preview.errors:
        raise ValidationFailed(followup_sheets.refusals(preview))
    return preview


def _write(ctx: ImportContext, session: Session, user: User,
           preview: followup_sheets.SheetPreview) -> ImportOutcome:
    recorded = followup_sheets.import_sheet(session, user, ctx.settings.var_dir, preview.sha256, ctx.file_name,
                                            preview=preview, progress=ctx.progress)
    return ImportOutcome(recorded, "/followups", {"follow_ups": recorded})


IMPORTS = (ImportSpec(key="observation.followups", title=N_("Import follow-ups"), permission=FOLLOWUP_RECORD,
                      form="/followups/import", params=(), confirm_params=(), check=_check, preview=_preview,
                      prepare=_prepare, write=_write, page=followup_web.import_job_page),)
