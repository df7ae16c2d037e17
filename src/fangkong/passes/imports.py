"""The pass bulk issue as a background job when its sheet is big (core.imports): up to 100,000 vehicles
read, checked, signed and issued off the request, all or nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core.access import require
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.imports import ImportContext, ImportOutcome, ImportSpec, PreviewOutcome
from fangkong.core.models import User
from fangkong.passes import bulk, staff_web
from fangkong.passes.access import PASS_ISSUE
from fangkong.passes.tokens import key_ring

SHOWN = 200  # row problems kept for the preview page (each names its row and column)


def _check(_session: Session, user: User, params: Mapping[str, str]) -> None:
    require(user, PASS_ISSUE)
    header, errors = bulk.header_of(params)
    if errors:
        raise ValidationFailed(errors)
    bulk.check_header(header)


def _parse(ctx: ImportContext) -> bulk.Parsed:
    return bulk.parse_sheet(ctx.data, ctx.file_name, bulk.header_of(ctx.params)[0], ctx.progress)


def _preview(ctx: ImportContext) -> PreviewOutcome:
    parsed = _parse(ctx)
    summary: dict[str, Any] = {"ready": parsed.ready, "error_count": parsed.error_count,
                               "errors": [vars(e) for e in parsed.errors[:SHOWN]]}
    return PreviewOutcome(summary, parsed.ready + parsed.error_count, parsed.ready, bulk.refusals(parsed))


def _prepare(ctx: ImportContext) -> bulk.Parsed:
    parsed = _parse(ctx)
    refused = bulk.refusals(parsed)
    if refused:
        raise ValidationFailed(refused)
    return parsed


def _write(ctx: ImportContext, session: Session, user: User, parsed: bulk.Parsed) -> ImportOutcome:
    settings = ctx.settings
    application = bulk.issue(session, user, key_ring(settings.var_dir), bulk.header_of(ctx.params)[0], ctx.data,
                             ctx.file_name, settings.registration_retention_days, parsed=parsed,
                             progress=ctx.progress)
    return ImportOutcome(parsed.ready, f"/passes/applications/{application.id}",
                         {"application_id": application.id, "passes": parsed.ready})


IMPORTS = (ImportSpec(key="passes.bulk", title=N_("Issue passes from a sheet"), permission=PASS_ISSUE,
                      form="/passes/bulk/new", params=bulk.HEADER_FIELDS, confirm_params=bulk.HEADER_FIELDS,
                      check=_check, preview=_preview, prepare=_prepare, write=_write, page=staff_web.job_page),)
