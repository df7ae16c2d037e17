"""What passes let each role do (declared in the capability, merged into core.access by the platform)."""

from __future__ import annotations

PASS_READ = "pass.read"  # applications and passes of the jurisdiction, their verifications, the export
PASS_APPROVE = "pass.approve"  # approve or refuse applications (the unit the setting names decides)
PASS_ISSUE = "pass.issue"  # issue passes in bulk from an enterprise's sheet of vehicles
PASS_REVOKE = "pass.revoke"
PASS_VERIFY = "pass.verify"  # check a pass at a checkpoint (every check recorded)

STAFF = frozenset({PASS_READ, PASS_APPROVE, PASS_ISSUE, PASS_REVOKE})
PERMISSIONS = {"command": STAFF, "district": STAFF, "station": STAFF, "checkpoint": frozenset({PASS_VERIFY})}
