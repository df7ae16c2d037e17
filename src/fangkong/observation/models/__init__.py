"""Observation's tables, one module per subject: observations, care teams and follow-ups,
referrals to health, self-report (a risk status itself is part of the person file: people.models)."""

from fangkong.observation.models.care import CareTeam, CareTeamMember, FollowUp
from fangkong.observation.models.observations import Observation
from fangkong.observation.models.referrals import HANDLINGS, Referral
from fangkong.observation.models.selfreport import SelfReport, SelfReportLink

__all__ = ["HANDLINGS", "CareTeam", "CareTeamMember", "FollowUp", "Observation", "Referral",
           "SelfReport", "SelfReportLink"]
