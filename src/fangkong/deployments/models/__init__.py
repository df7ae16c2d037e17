"""Deployment tables, one module per subject."""

from fangkong.deployments.models.cases import CaseLead, CasePerson, OffenceCase, Seizure
from fangkong.deployments.models.log import LogCorrection
from fangkong.deployments.models.posts import Post, Secondment, Shift, ShiftMember
from fangkong.deployments.models.supervision import RectificationItem, SupervisionVisit

__all__ = ["CaseLead", "CasePerson", "LogCorrection", "OffenceCase", "Post", "RectificationItem", "Secondment",
           "Seizure", "Shift", "ShiftMember", "SupervisionVisit"]
