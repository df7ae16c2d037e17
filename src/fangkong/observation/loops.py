"""Observation's rules that act by themselves: referrals health has not taken over in time are flagged to
health, and the daily follow-up lists of today and tomorrow exist before anyone opens them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.clock import LOCAL_TZ, local_time
from fangkong.core.i18n import N_
from fangkong.core.models import Role, User
from fangkong.core.notify import notify
from fangkong.core.scheduler import JobContext
from fangkong.observation.followups import generate_follow_ups
from fangkong.observation.models import Referral

REFERRAL_OVERDUE = N_("A referral of {at} is not yet taken over by health.")


def referral_overdue_job(session: Session, ctx: JobContext) -> int:
    """Tell every health unit about each referral left unacknowledged past the setting's minutes (once)."""
    limit = ctx.now - timedelta(minutes=ctx.settings.referral_overdue_minutes)
    late = session.execute(select(Referral.id, Referral.at).where(Referral.acknowledged_at.is_(None),
                                                                  Referral.at < limit)).all()
    if not late:
        return 0
    health_units = set(session.execute(select(User.unit_id).where(User.role == Role.HEALTH,
                                                                  User.active.is_(True))).scalars())
    told = 0
    for referral_id, at in late:
        for unit_id in health_units:
            told += notify(session, kind="referral_overdue", message=REFERRAL_OVERDUE, href="/referrals",
                           unit_id=unit_id, dedupe_key=f"referral:{referral_id}:{unit_id}", at=local_time(at))
    return told


def follow_up_lists_job(session: Session, ctx: JobContext) -> int:
    """Make today's and tomorrow's follow-up lists (idempotent: only what is missing is added)."""
    today = ctx.now.astimezone(LOCAL_TZ).date()
    return generate_follow_ups(session, today) + generate_follow_ups(session, today + timedelta(days=1))


def self_report_call_job(session: Session, ctx: JobContext) -> int:
    """From the setting's hour, put those who have not self-reported today first on their care team's list
    (to be called) and tell each care team member once a day how many are waiting."""
    from fangkong.observation.models import CareTeam, CareTeamMember, FollowUp
    from fangkong.observation.selfreport import CALL, mark_not_reported

    marked = mark_not_reported(session, ctx.now, ctx.settings.self_report_call_hour)
    if not marked:
        return 0
    members = session.execute(select(CareTeamMember.user_id, FollowUp.id)
                              .join(CareTeam, CareTeam.id == CareTeamMember.team_id)
                              .join(FollowUp, FollowUp.observation_id == CareTeam.observation_id)
                              .where(FollowUp.id.in_(marked))).all()
    per_user: dict[int, int] = {}
    for user_id, _fid in members:
        per_user[user_id] = per_user.get(user_id, 0) + 1
    day = ctx.now.astimezone(LOCAL_TZ).date().isoformat()
    for user_id, count in per_user.items():
        notify(session, kind="self_report_missing", message=CALL, href="/followups?mine=1", user_id=user_id,
               dedupe_key=f"self-report-call:{day}:{user_id}:{len(marked)}", count=count,
               hour=ctx.settings.self_report_call_hour)
    return len(marked)
