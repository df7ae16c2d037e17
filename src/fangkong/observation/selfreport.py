"""Daily self-report (issue 20): a person under observation reports temperature, symptoms and, in home
quarantine, being at home, through a personal link, without an account.

The link's token is unguessable (`secrets.token_urlsafe(24)`) and only its SHA-256 is kept; a new link
revokes the previous one; a link dies with its observation (release, or the end of its period). A report
with fever or a symptom refers the person to health at once (a `Referral` of source "self_report", health
units notified); the first report of a day records that day's follow-up as done. The form carries a
nonce: sending it again changes nothing. At most `REPORTS_PER_DAY` reports a day.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import FOLLOWUP_READ, FOLLOWUP_RECORD, require
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_, translations
from fangkong.core.models import Role, User
from fangkong.core.notify import notify
from fangkong.observation.care import open_observation, scoped
from fangkong.observation.followups import FEVER_C, MAX_C, MIN_C, SYMPTOMS, TEMPERATURE, UNKNOWN_SYMPTOM, local_today
from fangkong.observation.models import FollowUp, Observation, Referral, SelfReport, SelfReportLink
from fangkong.people.models import Person

SOURCE = "self_report"
REPORTS_PER_DAY = 2
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,60}$")
NONCE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

LINK_GONE = N_("This link is no longer valid: it has expired or been replaced. Please ask the officer "
               "who follows you up for a new one.")
REPLAYED = N_("This report was already received. Nothing was changed.")
ENOUGH_TODAY = N_("You have already reported twice today. Please report again tomorrow.")
AT_HOME = N_("Say whether you are at home.")
REFERRED = N_("A self-report of {at} found fever or symptoms: the person is referred to health.")


class LinkGone(DomainError):
    status = 410
    slug = "link-gone"
    title = N_("This link is no longer valid")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def given_name(name: str) -> str:
    """Return only the given name (三丰 of 张三丰; of a four-character name, the last two), shown on the public page."""
    name = name.strip()
    if not name:
        return ""
    if " " in name:  # a name in Latin letters: the first word
        return name.split()[0]
    return name[2:] if len(name) >= 4 else name[1:] or name


# --- staff: issue and revoke -----------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedLink:
    token: str  # shown once: the SMS text and the QR code carry it
    link: SelfReportLink
    given_name: str


def _expiry(observation: Observation) -> datetime:
    return observation.home_monitoring_until or observation.planned_end


def issue_link(session: Session, user: User, observation_id: int) -> IssuedLink:
    """Make a new personal link for an open observation (revoking the previous one); return its token once."""
    observation, person = open_observation(session, user, observation_id, FOLLOWUP_RECORD)
    now = utcnow()
    replaced = rowcount(session.execute(update(SelfReportLink).where(
        SelfReportLink.observation_id == observation.id, SelfReportLink.revoked_at.is_(None)).values(revoked_at=now)))
    token = secrets.token_urlsafe(24)
    link = SelfReportLink(observation_id=observation.id, person_id=person.id, token_hash=token_hash(token),
                          created_at=now, created_by=user.display_name, expires_at=_expiry(observation))
    session.add(link)
    session.flush()
    audit.record(session, "issue", "self_report_links", link.id, observation=observation.id, person=person.id,
                 replaced=replaced)
    return IssuedLink(token, link, given_name(person.name))


def revoke_links(session: Session, user: User, observation_id: int) -> int:
    """Revoke the observation's live link(s); return how many."""
    observation, person = open_observation(session, user, observation_id, FOLLOWUP_RECORD)
    revoked = int(rowcount(session.execute(update(SelfReportLink).where(
        SelfReportLink.observation_id == observation.id, SelfReportLink.revoked_at.is_(None))
        .values(revoked_at=utcnow()))))
    audit.record(session, "revoke", "self_report_links", None, observation=observation.id, person=person.id,
                 revoked=revoked)  # a Core UPDATE: the session events do not see it
    return revoked


def live_link(session: Session, observation_id: int) -> SelfReportLink | None:
    """Return the observation's live link (not revoked, not expired), if any."""
    return session.execute(select(SelfReportLink).where(
        SelfReportLink.observation_id == observation_id, SelfReportLink.revoked_at.is_(None),
        SelfReportLink.expires_at > utcnow()).order_by(SelfReportLink.id.desc()).limit(1)).scalar_one_or_none()


def reports_of(session: Session, user: User, observation_id: int, limit: int = 60) -> list[SelfReport]:
    """Return an observation's self-reports, newest first (audited: they are health findings)."""
    require(user, FOLLOWUP_READ)
    in_scope = scoped(select(Observation.id).join(Person, Person.id == Observation.person_id)
                      .where(Observation.id == observation_id), user, Observation.id)
    if session.execute(in_scope).first() is None:
        raise NotFound()
    rows = list(session.execute(select(SelfReport).where(SelfReport.observation_id == observation_id)
                                .order_by(SelfReport.at.desc()).limit(limit)).scalars())
    audit.record(session, "list", "self_reports", None, observation=observation_id, results=len(rows))
    return rows


def sms_text(given: str, url: str, until: datetime) -> str:
    """Return the SMS the officer copies (in Chinese: it goes to the person, whatever the officer's language)."""
    day = until.astimezone(LOCAL_TZ).strftime("%Y-%m-%d")
    return (f"【防控】{given}您好，请每天打开以下个人链接填报体温和症状（每天一至两次）：{url} "
            f"链接在{day}前有效，仅限本人使用，请勿转发。")


# --- the public page ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkView:
    link_id: int
    observation_id: int
    person_id: int
    given_name: str
    home_quarantine: bool
    reported_today: int
    expires_at: datetime


def open_link(session: Session, token: str) -> LinkView:
    """Return what the public page needs of a live link, else LinkGone (expired, revoked, released, unknown)."""
    if not TOKEN_SHAPE.match(token):
        raise LinkGone(LINK_GONE)
    now = utcnow()
    row = session.execute(select(SelfReportLink, Observation, Person.name)
                          .join(Observation, Observation.id == SelfReportLink.observation_id)
                          .join(Person, Person.id == SelfReportLink.person_id)
                          .where(SelfReportLink.token_hash == token_hash(token))).first()
    if row is None:
        raise LinkGone(LINK_GONE)
    link, observation, name = row
    if link.revoked_at is not None or link.expires_at <= now or observation.released_at is not None:
        raise LinkGone(LINK_GONE)
    today = local_today()
    count = session.execute(select(func.count(SelfReport.id)).where(SelfReport.observation_id == observation.id,
                                                                    SelfReport.day == today)).scalar_one()
    audit.record(session, "read", "self_report_links", link.id, person=link.person_id, public=True)
    return LinkView(link.id, observation.id, link.person_id, given_name(name),
                    observation.kind == "home_quarantine" and now < observation.planned_end, int(count),
                    link.expires_at)


@dataclass
class SelfReportInput:
    temperature_c: float | None = None
    symptoms: list[str] = field(default_factory=list)
    at_home: bool | None = None
    nonce: str = ""


def check_report(data: SelfReportInput, view: LinkView) -> list[FieldError]:
    errors = []
    if data.temperature_c is None or not MIN_C <= data.temperature_c <= MAX_C:
        errors.append(FieldError("temperature_c", TEMPERATURE, {"low": MIN_C, "high": MAX_C}))
    for code in data.symptoms[:20]:
        if code not in SYMPTOMS:
            errors.append(FieldError("symptoms", UNKNOWN_SYMPTOM, {"value": code[:40]}))
    if view.home_quarantine and data.at_home is None:
        errors.append(FieldError("at_home", AT_HOME))
    if not NONCE_SHAPE.match(data.nonce):
        errors.append(FieldError("nonce", N_("Please open the link again and send the form from there.")))
    return errors


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def submit_report(session: Session, token: str, data: SelfReportInput) -> SelfReport:
    """Keep one self-report: refer at once on fever or a symptom; the day's follow-up counts as done."""
    view = open_link(session, token)
    if session.execute(select(SelfReport.id).where(SelfReport.nonce == data.nonce[:64])).first() is not None:
        raise Conflict(REPLAYED)
    errors = check_report(data, view)
    if errors:
        raise ValidationFailed(errors)
    if view.reported_today >= REPORTS_PER_DAY:
        raise Conflict(ENOUGH_TODAY)
    now, today = utcnow(), local_today()
    symptoms = ",".join(dict.fromkeys(data.symptoms))
    report = SelfReport(link_id=view.link_id, observation_id=view.observation_id, person_id=view.person_id,
                        day=today, at=now, temperature_c=round(float(data.temperature_c or 0), 1), symptoms=symptoms,
                        at_home=data.at_home if view.home_quarantine else None, nonce=data.nonce)
    session.add(report)
    try:
        session.flush()  # a concurrent replay of the same nonce fails here, on the unique constraint
    except IntegrityError:
        raise Conflict(REPLAYED) from None  # the unit of work rolls back: nothing changed
    if report.temperature_c >= FEVER_C or symptoms:
        report.referral_id = _refer(session, report)
    _count_as_follow_up(session, report)
    return report


def _refer(session: Session, report: SelfReport) -> int:
    zh = translations("zh_CN")
    reason = "，".join([f"自报：体温 {report.temperature_c:.1f} °C",
                       *(zh.gettext(SYMPTOMS[c]) for c in report.symptoms.split(",") if c)])[:255]
    referral = Referral(source=SOURCE, person_id=report.person_id, at=report.at, reason=reason)
    session.add(referral)
    session.flush()
    health_units = set(session.execute(select(User.unit_id).where(User.role == Role.HEALTH,
                                                                  User.active.is_(True))).scalars())
    for unit_id in health_units:
        notify(session, kind="self_report_referral", message=REFERRED, href="/referrals", unit_id=unit_id,
               dedupe_key=f"self-report-referral:{referral.id}:{unit_id}",
               at=report.at.astimezone(LOCAL_TZ).strftime("%H:%M"))
    return referral.id


def _count_as_follow_up(session: Session, report: SelfReport) -> None:
    """Record the day's follow-up from the self-report, unless staff already did (their record stands)."""
    follow_up_id = session.execute(select(FollowUp.id).where(
        FollowUp.observation_id == report.observation_id, FollowUp.day == report.day,
        FollowUp.done_at.is_(None))).scalar_one_or_none()
    if follow_up_id is None:
        return
    changed = rowcount(session.execute(
        update(FollowUp).where(FollowUp.id == follow_up_id, FollowUp.done_at.is_(None))
        .values(done_at=report.at, done_by="自报", source=SOURCE, temperature_c=report.temperature_c,
                symptoms=report.symptoms, referral_id=report.referral_id)))
    if changed:
        audit.record(session, "record", "follow_ups", follow_up_id, person=report.person_id, source=SOURCE)


# --- the call list -------------------------------------------------------------------------------------

CALL = N_("{count} persons have not self-reported by {hour}: call them first.")


def call_hour_passed(now: datetime, hour: str) -> bool:
    local = now.astimezone(LOCAL_TZ)
    h, m = (int(x) for x in hour.split(":"))
    return (local.hour, local.minute) >= (h, m)


def mark_not_reported(session: Session, now: datetime, hour: str) -> list[int]:
    """Put today's open follow-ups of persons with a live link and no report today first on the list; return
    their ids (each only once: `call_at` is set once)."""
    if not call_hour_passed(now, hour):
        return []
    today = now.astimezone(LOCAL_TZ).date()
    live = select(SelfReportLink.observation_id).where(SelfReportLink.revoked_at.is_(None),
                                                       SelfReportLink.expires_at > now)
    reported = select(SelfReport.observation_id).where(SelfReport.day == today)
    ids = list(session.execute(select(FollowUp.id).where(
        FollowUp.day == today, FollowUp.done_at.is_(None), FollowUp.call_at.is_(None),
        FollowUp.observation_id.in_(live), FollowUp.observation_id.not_in(reported))).scalars())
    if ids:
        session.execute(update(FollowUp).where(FollowUp.id.in_(ids)).values(call_at=now))
        audit.record(session, "call_list", "follow_ups", None, day=today.isoformat(), follow_ups=ids)
    return ids
