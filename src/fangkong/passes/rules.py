"""The words of passes: purposes, kinds, states, verification outcomes and the messages that explain them."""

from __future__ import annotations

from datetime import datetime, timedelta

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.i18n import N_

PURPOSES = {"daily_supplies": N_("Daily supplies"), "medical_supplies": N_("Medical supplies"),
            "resumption": N_("Resumption of work and production"), "medical_staff": N_("Medical staff"),
            "other": N_("Other")}
KINDS = {"vehicle": N_("Vehicle"), "person": N_("Person")}
APPLICATION_STATES = {"pending": N_("Waiting for approval"), "approved": N_("Approved"), "refused": N_("Refused")}
PASS_STATES = {"pending": N_("Waiting for approval"), "refused": N_("Refused"), "valid": N_("Valid"),
               "not_yet_valid": N_("Not yet valid"), "expired": N_("Expired"), "revoked": N_("Revoked")}
APPROVING_LEVELS = ("station", "district", "command")

# Verification outcomes: only `valid` lets a vehicle into the green lane. Each refusal says why.
OUTCOMES = {
    "valid": N_("Valid pass"),
    "malformed": N_("This is not a pass code. Scan the QR code again or type the pass number."),
    "forged": N_("The signature does not match: the pass is forged or altered. Do not let it through."),
    "unknown": N_("No such pass was issued."),
    "not_approved": N_("This pass has not been approved."),
    "revoked": N_("This pass was revoked."),
    "expired": N_("This pass has expired."),
    "not_yet_valid": N_("This pass is not valid yet."),
    "plate_mismatch": N_("The pass was issued for another vehicle ({plate})."),
}
IMPOSSIBLE_TRAVEL = N_("Flagged: this pass was used at another checkpoint {minutes} minutes ago, too far away to "
                       "be the same vehicle. Check the papers; the vehicle takes the normal lane.")

FAR_DAYS = 366  # validity dates lie within a year of today
MAX_DAYS = 90  # longest validity a pass gets (the issue's seeds: passes were renewed monthly)
MAX_PASSES_PER_APPLICATION = 20
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
DOCUMENT_TYPES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
# Magic numbers: the browser's content type is the applicant's word; the first bytes are the file's.
DOCUMENT_MAGIC = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}

END_BEFORE_START = N_("The validity cannot end before it starts.")
TOO_LONG = N_("A pass is valid for at most {days} days.")
FAR_DATE = N_("Give dates within {days} days of today.")
START_IN_PAST = N_("The validity cannot start before today.")
NO_VEHICLES = N_("Give at least one vehicle plate or one person.")
TOO_MANY = N_("At most {n} vehicles or persons per application.")
DOCUMENT_TOO_LARGE = N_("The supporting document is larger than {mb} MB.")
DOCUMENT_TYPE = N_("The supporting document must be a PDF, JPEG or PNG file.")
NOT_FOUND = N_("No application matches this code and phone number. Check both and try again.")
ALREADY_DECIDED = N_("This application has already been decided.")
ALREADY_REVOKED = N_("This pass has already been revoked.")
REASON_NEEDED = N_("Give the reason.")
NOT_ISSUED = N_("This pass has not been issued.")
CHOOSE_APPLICATIONS = N_("Choose at least one application.")


def day_start(day: object) -> datetime:
    """Return local midnight at the start of a date, as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)  # type: ignore[attr-defined]


def day_end(day: object) -> datetime:
    """Return the last second of a local date (a pass valid until the 10th is good all that day)."""
    return day_start(day) + timedelta(days=1, seconds=-1)
