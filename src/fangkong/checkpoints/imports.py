"""A big sheet of passages typed up from paper, as a background job (core.imports): read, checked and, on
confirmation, registered in batches, all or nothing."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from fangkong.checkpoints import service, sheet_import, web
from fangkong.core.access import PASSAGE_WRITE
from fangkong.core.errors import NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.imports import ImportContext, ImportOutcome, ImportSpec, PreviewOutcome
from fangkong.core.models import User


def _checkpoint(params: Mapping[str, str]) -> int:
    text = str(params.get("checkpoint_id") or "")
    if not text.isdigit() or len(text) > 9:
        raise NotFound()
    return int(text)


def _check(session: Session, user: User, params: Mapping[str, str]) -> None:
    service.get_checkpoint(session, user, _checkpoint(params), PASSAGE_WRITE)  # the role and the jurisdiction


def _checked(ctx: ImportContext) -> sheet_import.PassagePreview:
    found = sheet_import.read_sheet(ctx.file_name, ctx.data, ctx.progress)  # outside any transaction
    with ctx.work() as (session, user):
        return sheet_import.preview_passages(session, user, ctx.settings.var_dir, _checkpoint(ctx.params),
                                             ctx.file_name, ctx.data, found=found, keep=False, progress=ctx.progress)


def _preview(ctx: ImportContext) -> PreviewOutcome:
    preview = _checked(ctx)
    return PreviewOutcome(preview.summary(), preview.persons, preview.persons, sheet_import.refusals(preview))


def _prepare(ctx: ImportContext) -> sheet_import.PassagePreview:
    preview = _checked(ctx)
    if preview.errors:
        raise ValidationFailed(sheet_import.refusals(preview))
    return preview


def _write(ctx: ImportContext, session: Session, user: User, preview: sheet_import.PassagePreview) -> ImportOutcome:
    checkpoint = _checkpoint(ctx.params)
    created = sheet_import.import_passages(session, user, ctx.settings.var_dir, checkpoint, preview.sha256,
                                           ctx.file_name, preview=preview, progress=ctx.progress)
    return ImportOutcome(created, f"/checkpoints/{checkpoint}", {"checkpoint_id": checkpoint, "passages": created})


IMPORTS = (ImportSpec(key="checkpoints.passages", title=N_("Import passages from a sheet"),
                      permission=PASSAGE_WRITE, form="/checkpoints/{checkpoint_id}/import", params=("checkpoint_id",),
                      confirm_params=(), check=_check, preview=_preview, prepare=_prepare, write=_write,
                      page=web.import_job_page),)
