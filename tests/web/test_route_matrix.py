"""Every route, every role: who may use it, and what everyone else gets.

The matrix must name every route the app serves; adding a route without deciding who may use it
fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from tests.support import Personas, csrf

ROLES = ("admin", "auditor", "command", "district", "station", "checkpoint", "health", "community", "screen")
PUBLIC = "public"
ANY_USER = frozenset(ROLES)
PERSON_READERS = frozenset({"command", "district", "station", "health"})
PERSON_WRITERS = frozenset({"command", "station"})
MERGERS = frozenset({"command", "station"})  # review queue, merge, un-merge
ADMIN = frozenset({"admin"})
LEAD_READERS = frozenset({"command", "district", "station", "community"})
LEAD_INTAKE = frozenset({"command", "district"})
LEAD_VERIFIERS = frozenset({"command", "district", "station"})  # on a police leg
COMMAND = frozenset({"command"})  # objects held at the city level
CP_LIST = frozenset({"checkpoint", "command", "district", "admin"})
CP_READ = frozenset({"checkpoint", "command", "district"})
CP_WRITE = frozenset({"checkpoint"})
CP_MANAGE = frozenset({"admin", "command"})
REFERRAL_READERS = frozenset({"health", "checkpoint", "command", "district"})
HEALTH = frozenset({"health"})
AUDITOR = frozenset({"auditor"})
TRACERS = frozenset({"command", "health"})
FOLLOWUP_READERS = frozenset({"command", "district", "station", "health", "community"})
FOLLOWUP_RECORDERS = frozenset({"station", "health", "community"})
CARE_MANAGERS = frozenset({"command", "district", "station"})
REG_READERS = frozenset({"command", "district", "station"})  # arrivals and gatherings of the jurisdiction
VENUE_READERS = frozenset({"admin", "command", "district", "station", "community"})  # community: compounds only
VENUE_MANAGERS = frozenset({"admin", "command", "station"})
VISIT_READERS = frozenset({"command", "district", "station", "community"})
INSPECTORS = frozenset({"command", "station"})
COMMAND_READERS = frozenset({"command", "district"})  # the dashboard, who has reported, the situation report
REPORTERS = frozenset({"district", "station"})  # units that submit a daily report
SCREENS = frozenset({"screen", "command", "district"})
POLICE = frozenset({"command", "district", "station"})  # deployments, offence cases, supervision (issue 19)
SUPERVISORS = frozenset({"command", "district"})  # record supervision visits and their items
PASS_STAFF = frozenset({"command", "district", "station"})  # applications and passes of their jurisdiction

# Roles that hold the permission but not the object (it lies outside their jurisdiction): their request
# body is validated before the use case looks the object up, so 422 is as good as 404 for them.
SCOPE_ONLY = {("POST", "/api/v1/leads/{lead_id}/assign"): {"district"},
              ("POST", "/api/v1/leads/{lead_id}/legs/{leg_id}/forward"): {"community"},
              ("POST", "/api/v1/leads/{lead_id}/legs/{leg_id}/verify"): {"community"}}  # a police leg

# (method, path template) -> (concrete path, roles allowed or PUBLIC)
MATRIX: dict[tuple[str, str], tuple[str, frozenset[str] | str]] = {
    ("GET", "/healthz"): ("/healthz", PUBLIC),
    ("GET", "/readyz"): ("/readyz", PUBLIC),
    ("GET", "/metrics"): ("/metrics", PUBLIC),  # loopback or its token; tested in tests/ops
    ("GET", "/login"): ("/login", PUBLIC),
    ("POST", "/login"): ("/login", PUBLIC),
    ("POST", "/logout"): ("/logout", PUBLIC),
    ("GET", "/"): ("/", ANY_USER),
    # The public check-in first: later rows disable and rotate the same venue's code.
    ("GET", "/v/{token}"): ("/v/{venue_code}", PUBLIC),
    ("POST", "/v/{token}"): ("/v/{venue_code}", PUBLIC),
    ("POST", "/v/{token}/checkout"): ("/v/{venue_code}/checkout", PUBLIC),
    ("GET", "/api/docs"): ("/api/docs", PUBLIC),
    ("GET", "/sw.js"): ("/sw.js", PUBLIC),
    ("GET", "/manifest.webmanifest"): ("/manifest.webmanifest", PUBLIC),
    # The self-report page first: later rows issue a new link for the same observation (the old one is 410).
    ("GET", "/r/{token}"): ("/r/{self_report_token}", PUBLIC),
    ("POST", "/r/{token}"): ("/r/{self_report_token}", PUBLIC),
    ("GET", "/api/openapi.json"): ("/api/openapi.json", PUBLIC),
    ("POST", "/api/v1/auth/token"): ("/api/v1/auth/token", PUBLIC),
    ("GET", "/api/v1/me"): ("/api/v1/me", ANY_USER),
    ("POST", "/leads/{lead_id}/legs/{leg_id}/forward"): ("/leads/{lead}/legs/{leg}/forward", LEAD_VERIFIERS),
    ("POST", "/api/v1/leads/{lead_id}/legs/{leg_id}/forward"): ("/api/v1/leads/{lead}/legs/{leg}/forward",
                                                                LEAD_VERIFIERS),
    ("POST", "/referrals/{referral_id}/call"): ("/referrals/{referral}/call", HEALTH),
    ("GET", "/vehicle-leads"): ("/vehicle-leads", LEAD_INTAKE),
    ("POST", "/vehicle-leads"): ("/vehicle-leads", LEAD_INTAKE),
    ("POST", "/api/v1/vehicle-leads"): ("/api/v1/vehicle-leads", LEAD_INTAKE),
    ("GET", "/notifications"): ("/notifications", ANY_USER),
    ("GET", "/notifications/count"): ("/notifications/count", ANY_USER),
    ("POST", "/notifications/read"): ("/notifications/read", ANY_USER),
    ("POST", "/exports"): ("/exports", ANY_USER),  # without a list: 422
    ("GET", "/exports"): ("/exports", ANY_USER),
    ("GET", "/exports/{run_id}"): ("/exports/{export_run}", frozenset({"station"})),  # the owner's only
    ("GET", "/exports/{run_id}/file"): ("/exports/{export_run}/file", frozenset({"station"})),
    ("POST", "/api/v1/exports"): ("/api/v1/exports", ANY_USER),
    ("GET", "/imports"): ("/imports", ANY_USER),
    ("GET", "/imports/{job_id}"): ("/imports/{import_job}", COMMAND),  # the owner's only
    ("POST", "/imports/{job_id}/preview"): ("/imports/{import_job}/preview", COMMAND),
    ("POST", "/imports/{job_id}/confirm"): ("/imports/{import_job}/confirm", COMMAND),
    ("POST", "/api/v1/imports"): ("/api/v1/imports", ANY_USER),  # without a sheet: 422
    ("GET", "/api/v1/imports/{job_id}"): ("/api/v1/imports/{import_job}", COMMAND),
    ("POST", "/api/v1/imports/{job_id}/confirm"): ("/api/v1/imports/{import_job}/confirm", COMMAND),
    ("GET", "/api/v1/exports/{run_id}"): ("/api/v1/exports/{export_run}", frozenset({"station"})),
    ("GET", "/api/v1/exports/{run_id}/file"): ("/api/v1/exports/{export_run}/file", frozenset({"station"})),
    ("GET", "/command"): ("/command", COMMAND_READERS),
    ("GET", "/command/data"): ("/command/data", COMMAND_READERS),
    ("GET", "/command/report"): ("/command/report", REPORTERS),
    ("POST", "/command/report"): ("/command/report", REPORTERS),
    ("GET", "/command/reports"): ("/command/reports", COMMAND_READERS),
    ("POST", "/command/reports/remind"): ("/command/reports/remind", COMMAND_READERS),
    ("GET", "/command/summary"): ("/command/summary", COMMAND_READERS),
    ("GET", "/command/summary.xlsx"): ("/command/summary.xlsx", COMMAND_READERS),
    ("POST", "/command/rollup"): ("/command/rollup", COMMAND),
    ("GET", "/command/levels"): ("/command/levels", COMMAND),
    ("POST", "/command/levels"): ("/command/levels", COMMAND),
    ("GET", "/screen"): ("/screen", SCREENS),
    ("GET", "/screen/data"): ("/screen/data", SCREENS),
    ("GET", "/api/v1/figures"): ("/api/v1/figures", COMMAND_READERS),
    ("POST", "/api/v1/daily-reports"): ("/api/v1/daily-reports", REPORTERS),
    ("GET", "/people"): ("/people", PERSON_READERS),
    ("GET", "/people/new"): ("/people/new", PERSON_WRITERS),
    ("POST", "/people/new"): ("/people/new", PERSON_WRITERS),
    ("GET", "/people/{person_id:int}"): ("/people/{own_person}", PERSON_READERS),
    ("POST", "/people/{person_id}/reveal"): ("/people/{own_person}/reveal", PERSON_READERS),
    ("POST", "/people/{person_id}/status"): ("/people/{own_person}/status", PERSON_READERS),
    ("GET", "/people/status"): ("/people/status", PERSON_READERS),
    ("POST", "/people/status/release"): ("/people/status/release", HEALTH),
    ("GET", "/api/v1/persons/{person_id}/status"): ("/api/v1/persons/{own_person}/status", PERSON_READERS),
    ("POST", "/api/v1/persons/{person_id}/status"): ("/api/v1/persons/{own_person}/status", PERSON_READERS),
    ("POST", "/api/v1/persons/{person_id}/release"): ("/api/v1/persons/{own_person}/release", HEALTH),
    ("GET", "/api/v1/persons"): ("/api/v1/persons", PERSON_READERS),
    ("POST", "/api/v1/persons"): ("/api/v1/persons", PERSON_WRITERS),
    ("GET", "/api/v1/persons/{person_id}"): ("/api/v1/persons/{own_person}", PERSON_READERS),
    ("POST", "/api/v1/persons/{person_id}/reveal"): ("/api/v1/persons/{own_person}/reveal", PERSON_READERS),
    ("GET", "/people/review"): ("/people/review", MERGERS),
    ("POST", "/people/review/{pair_id}"): ("/people/review/{own_pair}", MERGERS),
    ("POST", "/people/merges/{merge_id}/unmerge"): ("/people/merges/{own_merge}/unmerge", MERGERS),
    ("POST", "/people/{person_id}/merge"): ("/people/{own_person}/merge", MERGERS),
    ("GET", "/api/v1/persons/review"): ("/api/v1/persons/review", MERGERS),
    ("POST", "/api/v1/persons/review/{pair_id}/accept"): ("/api/v1/persons/review/{own_pair}/accept", MERGERS),
    ("POST", "/api/v1/persons/review/{pair_id}/reject"): ("/api/v1/persons/review/{own_pair}/reject", MERGERS),
    ("POST", "/api/v1/persons/merges/{merge_id}/unmerge"): ("/api/v1/persons/merges/{own_merge}/unmerge", MERGERS),
    ("POST", "/api/v1/persons/{person_id}/merge"): ("/api/v1/persons/{own_person}/merge", MERGERS),
    ("GET", "/api/v1/persons/{person_id}/merges"): ("/api/v1/persons/{own_person}/merges", PERSON_READERS),
    ("GET", "/admin/units"): ("/admin/units", ADMIN),
    ("GET", "/admin/units/new"): ("/admin/units/new", ADMIN),
    ("POST", "/admin/units/new"): ("/admin/units/new", ADMIN),
    ("GET", "/admin/units/{unit_id}"): ("/admin/units/{station_unit}", ADMIN),
    ("POST", "/admin/units/{unit_id}"): ("/admin/units/{station_unit}", ADMIN),
    ("GET", "/admin/users"): ("/admin/users", ADMIN),
    ("GET", "/admin/users/new"): ("/admin/users/new", ADMIN),
    ("POST", "/admin/users/new"): ("/admin/users/new", ADMIN),
    ("GET", "/admin/users/{user_id}"): ("/admin/users/{station_user}", ADMIN),
    ("POST", "/admin/users/{user_id}"): ("/admin/users/{station_user}", ADMIN),
    ("GET", "/api/v1/units"): ("/api/v1/units", ADMIN),
    ("POST", "/api/v1/units"): ("/api/v1/units", ADMIN),
    ("PUT", "/api/v1/units/{unit_id}"): ("/api/v1/units/{station_unit}", ADMIN),
    ("GET", "/api/v1/users"): ("/api/v1/users", ADMIN),
    ("POST", "/api/v1/users"): ("/api/v1/users", ADMIN | COMMAND),  # command grants personal-data roles
    ("PUT", "/api/v1/users/{user_id}"): ("/api/v1/users/{station_user}", ADMIN | COMMAND),
    ("GET", "/leads"): ("/leads", LEAD_READERS),
    ("GET", "/leads/import"): ("/leads/import", LEAD_INTAKE),
    ("POST", "/leads/import"): ("/leads/import", LEAD_INTAKE),
    ("POST", "/leads/import/remap"): ("/leads/import/remap", LEAD_INTAKE),
    ("POST", "/leads/import/confirm"): ("/leads/import/confirm", LEAD_INTAKE),
    ("GET", "/leads/batches"): ("/leads/batches", LEAD_INTAKE),
    ("GET", "/leads/batches/{batch_id}"): ("/leads/batches/{batch}", COMMAND),
    ("GET", "/leads/batches/{batch_id}/feedback"): ("/leads/batches/{batch}/feedback?purpose=matrix", COMMAND),
    ("GET", "/leads/manual"): ("/leads/manual", LEAD_INTAKE),
    ("GET", "/leads/rates"): ("/leads/rates", LEAD_READERS),
    ("GET", "/leads/new"): ("/leads/new", LEAD_INTAKE),
    ("POST", "/leads/new"): ("/leads/new", LEAD_INTAKE),
    ("GET", "/leads/{lead_id}"): ("/leads/{lead}", LEAD_READERS),
    ("POST", "/leads/{lead_id}/legs/{leg_id}/verify"): ("/leads/{lead}/legs/{leg}/verify", LEAD_VERIFIERS),
    ("POST", "/leads/{lead_id}/assign"): ("/leads/{manual_lead}/assign", COMMAND),
    ("POST", "/api/v1/leads/batches"): ("/api/v1/leads/batches", LEAD_INTAKE),
    ("POST", "/api/v1/leads"): ("/api/v1/leads", LEAD_INTAKE),
    ("GET", "/api/v1/leads"): ("/api/v1/leads", LEAD_READERS),
    ("GET", "/api/v1/leads/{lead_id}"): ("/api/v1/leads/{lead}", LEAD_READERS),
    ("POST", "/api/v1/leads/{lead_id}/legs/{leg_id}/verify"): ("/api/v1/leads/{lead}/legs/{leg}/verify",
                                                                LEAD_VERIFIERS),
    ("POST", "/api/v1/leads/{lead_id}/assign"): ("/api/v1/leads/{manual_lead}/assign", COMMAND),
    ("GET", "/api/v1/leads/batches/{batch_id}/results"): ("/api/v1/leads/batches/{batch}/results", COMMAND),
    ("GET", "/checkpoints"): ("/checkpoints", CP_LIST),
    ("GET", "/checkpoints/{checkpoint_id}"): ("/checkpoints/{checkpoint}", CP_READ),
    ("POST", "/checkpoints/{checkpoint_id}/check"): ("/checkpoints/{checkpoint}/check", CP_WRITE),
    ("POST", "/checkpoints/{checkpoint_id}/passages"): ("/checkpoints/{checkpoint}/passages", CP_WRITE),
    ("GET", "/passages/{passage_id}"): ("/passages/{passage}", CP_WRITE),
    ("GET", "/checkpoints/{checkpoint_id}/import"): ("/checkpoints/{checkpoint}/import", CP_WRITE),
    ("POST", "/checkpoints/{checkpoint_id}/import"): ("/checkpoints/{checkpoint}/import", CP_WRITE),
    ("POST", "/checkpoints/{checkpoint_id}/import/confirm"): ("/checkpoints/{checkpoint}/import/confirm", CP_WRITE),
    ("POST", "/passages/{passage_id}"): ("/passages/{passage}", CP_WRITE),
    ("GET", "/checkpoints-admin/new"): ("/checkpoints-admin/new", CP_MANAGE),
    ("POST", "/checkpoints-admin/new"): ("/checkpoints-admin/new", CP_MANAGE),
    ("GET", "/checkpoints-admin/{checkpoint_id}"): ("/checkpoints-admin/{checkpoint}", CP_MANAGE),
    ("POST", "/checkpoints-admin/{checkpoint_id}"): ("/checkpoints-admin/{checkpoint}", CP_MANAGE),
    ("GET", "/risk-areas"): ("/risk-areas", CP_MANAGE),
    ("POST", "/risk-areas"): ("/risk-areas", CP_MANAGE),
    ("POST", "/risk-areas/{area_id}/end"): ("/risk-areas/{risk_area}/end", CP_MANAGE),
    ("GET", "/referrals"): ("/referrals", REFERRAL_READERS),
    ("POST", "/referrals/{referral_id}/acknowledge"): ("/referrals/{referral}/acknowledge", HEALTH),
    ("GET", "/api/v1/checkpoints"): ("/api/v1/checkpoints", CP_LIST),
    ("POST", "/api/v1/checkpoints"): ("/api/v1/checkpoints", CP_MANAGE),
    ("POST", "/api/v1/checkpoints/{checkpoint_id}/passages"): ("/api/v1/checkpoints/{checkpoint}/passages", CP_WRITE),
    ("POST", "/api/v1/checkpoints/{checkpoint_id}/passages/check"): ("/api/v1/checkpoints/{checkpoint}/passages/check",
                                                                     CP_WRITE),
    ("PUT", "/api/v1/passages/{passage_id}"): ("/api/v1/passages/{passage}", CP_WRITE),
    ("GET", "/api/v1/checkpoints/{checkpoint_id}/flows"): ("/api/v1/checkpoints/{checkpoint}/flows", CP_READ),
    ("GET", "/api/v1/checkpoints/{checkpoint_id}/lanes"): ("/api/v1/checkpoints/{checkpoint}/lanes", CP_READ),
    ("GET", "/api/v1/risk-areas"): ("/api/v1/risk-areas", ANY_USER),
    ("POST", "/api/v1/risk-areas"): ("/api/v1/risk-areas", CP_MANAGE),
    ("GET", "/api/v1/referrals"): ("/api/v1/referrals", REFERRAL_READERS),
    ("POST", "/api/v1/referrals/{referral_id}/acknowledge"): ("/api/v1/referrals/{referral}/acknowledge", HEALTH),
    ("GET", "/tracing"): ("/tracing", TRACERS),
    ("GET", "/tracing/cases/{person_id}"): ("/tracing/cases/{own_person}", TRACERS),
    ("POST", "/tracing/cases/{person_id}/trace"): ("/tracing/cases/{own_person}/trace", TRACERS),
    ("POST", "/tracing/cases/{person_id}/contacts"): ("/tracing/cases/{own_person}/contacts", TRACERS),
    ("GET", "/tracing/cases/{person_id}/graph.json"): ("/tracing/cases/{own_person}/graph.json", TRACERS),
    ("GET", "/tracing/cases/{person_id}/dispatch"): ("/tracing/cases/{own_person}/dispatch", TRACERS),
    ("POST", "/tracing/cases/{person_id}/dispatch"): ("/tracing/cases/{own_person}/dispatch", TRACERS),  # no plan: 409
    ("GET", "/tracing/dispatches/{run_id}"): ("/tracing/dispatches/{dispatch_run}", TRACERS),
    ("GET", "/tracing/cases/{person_id}/report"): ("/tracing/cases/{own_person}/report", TRACERS),
    ("POST", "/tracing/cases/{person_id}/report"): ("/tracing/cases/{own_person}/report", TRACERS),  # no purpose: 422
    ("GET", "/tracing/cases/{person_id}/report.docx"): ("/tracing/cases/{own_person}/report.docx", TRACERS),
    ("GET", "/tracing/cases/{person_id}/report.xlsx"): ("/tracing/cases/{own_person}/report.xlsx", TRACERS),
    ("POST", "/tracing/cases/{person_id}/report/submit"): ("/tracing/cases/{own_person}/report/submit", TRACERS),
    ("POST", "/tracing/exposures/{exposure_id}/strike"): ("/tracing/exposures/{exposure}/strike", TRACERS),
    ("GET", "/api/v1/tracing/cases/{person_id}"): ("/api/v1/tracing/cases/{own_person}", TRACERS),
    ("GET", "/api/v1/tracing/cases/{person_id}/contacts"): ("/api/v1/tracing/cases/{own_person}/contacts", TRACERS),
    ("POST", "/api/v1/tracing/cases/{person_id}/trace"): ("/api/v1/tracing/cases/{own_person}/trace", TRACERS),
    ("POST", "/api/v1/tracing/cases/{person_id}/dispatch"): ("/api/v1/tracing/cases/{own_person}/dispatch", TRACERS),
    ("GET", "/followups"): ("/followups", FOLLOWUP_READERS),
    ("GET", "/followups/missed"): ("/followups/missed", FOLLOWUP_READERS),
    ("GET", "/followups/sheet.xlsx"): ("/followups/sheet.xlsx", FOLLOWUP_READERS),
    ("GET", "/followups/import"): ("/followups/import", FOLLOWUP_RECORDERS),
    ("POST", "/followups/import"): ("/followups/import", FOLLOWUP_RECORDERS),
    ("POST", "/followups/import/confirm"): ("/followups/import/confirm", FOLLOWUP_RECORDERS),
    ("GET", "/followups/{follow_up_id}"): ("/followups/{follow_up}", FOLLOWUP_READERS),
    ("POST", "/followups/{follow_up_id}"): ("/followups/{follow_up}", FOLLOWUP_RECORDERS),
    ("GET", "/care"): ("/care", FOLLOWUP_READERS),
    ("GET", "/care/{observation_id}"): ("/care/{team_obs}", FOLLOWUP_READERS),
    ("POST", "/care/{observation_id}/members"): ("/care/{team_obs}/members", CARE_MANAGERS),
    ("POST", "/care/{observation_id}/self-report"): ("/care/{team_obs}/self-report", FOLLOWUP_RECORDERS),
    ("POST", "/care/{observation_id}/self-report/revoke"): ("/care/{team_obs}/self-report/revoke",
                                                            FOLLOWUP_RECORDERS),
    ("GET", "/observations"): ("/observations", PERSON_READERS),
    ("GET", "/api/v1/followups"): ("/api/v1/followups", FOLLOWUP_READERS),
    ("GET", "/api/v1/followups/missed"): ("/api/v1/followups/missed", FOLLOWUP_READERS),
    ("GET", "/api/v1/followups/{follow_up_id}"): ("/api/v1/followups/{follow_up}", FOLLOWUP_READERS),
    ("POST", "/api/v1/followups/{follow_up_id}/record"): ("/api/v1/followups/{follow_up}/record", FOLLOWUP_RECORDERS),
    ("GET", "/api/v1/care-teams"): ("/api/v1/care-teams", FOLLOWUP_READERS),
    ("GET", "/api/v1/care-teams/{observation_id}"): ("/api/v1/care-teams/{team_obs}", FOLLOWUP_READERS),
    ("PUT", "/api/v1/care-teams/{observation_id}/members/{team_role}"): (
        "/api/v1/care-teams/{team_obs}/members/officer", CARE_MANAGERS),
    ("GET", "/api/v1/observations"): ("/api/v1/observations", PERSON_READERS),
    ("GET", "/api/v1/observations/counts"): ("/api/v1/observations/counts", FOLLOWUP_READERS),
    ("GET", "/venues"): ("/venues", VENUE_READERS),
    ("GET", "/venues/new"): ("/venues/new", VENUE_MANAGERS),
    ("POST", "/venues/new"): ("/venues/new", VENUE_MANAGERS),
    ("GET", "/venues/inspections"): ("/venues/inspections", VENUE_READERS),
    ("GET", "/venues/{venue_id}"): ("/venues/{venue}", VENUE_READERS),
    ("GET", "/venues/{venue_id}/edit"): ("/venues/{venue}/edit", VENUE_MANAGERS),
    ("POST", "/venues/{venue_id}/edit"): ("/venues/{venue}/edit", VENUE_MANAGERS),
    ("GET", "/venues/{venue_id}/poster"): ("/venues/{venue}/poster", VENUE_MANAGERS),
    ("GET", "/venues/{venue_id}/visits"): ("/venues/{venue}/visits", VISIT_READERS),
    ("POST", "/venues/{venue_id}/inspections"): ("/venues/{venue}/inspections", INSPECTORS),
    ("POST", "/venue-inspections/{inspection_id}/status"): ("/venue-inspections/{venue_inspection}/status",
                                                            INSPECTORS),
    ("GET", "/api/v1/venues"): ("/api/v1/venues", VENUE_READERS),
    ("POST", "/api/v1/venues"): ("/api/v1/venues", VENUE_MANAGERS),
    ("GET", "/api/v1/venues/{venue_id}"): ("/api/v1/venues/{venue}", VENUE_READERS),
    ("GET", "/api/v1/venues/{venue_id}/visits"): ("/api/v1/venues/{venue}/visits", VISIT_READERS),
    ("GET", "/api/v1/venues/{venue_id}/inspections"): ("/api/v1/venues/{venue}/inspections", VENUE_READERS),
    ("POST", "/api/v1/venues/{venue_id}/inspections"): ("/api/v1/venues/{venue}/inspections", INSPECTORS),
    ("POST", "/api/v1/venue-inspections/{inspection_id}/status"): (
        "/api/v1/venue-inspections/{venue_inspection}/status", INSPECTORS),
    ("GET", "/api/v1/venue-inspections/counts"): ("/api/v1/venue-inspections/counts", VENUE_READERS),
    ("PUT", "/api/v1/venues/{venue_id}"): ("/api/v1/venues/{venue}", VENUE_MANAGERS),
    ("POST", "/venues/{venue_id}/active"): ("/venues/{venue}/active", VENUE_MANAGERS),
    ("POST", "/venues/{venue_id}/rotate"): ("/venues/{venue}/rotate", VENUE_MANAGERS),
    ("POST", "/api/v1/venues/{venue_id}/rotate"): ("/api/v1/venues/{venue}/rotate", VENUE_MANAGERS),
    ("GET", "/audit"): ("/audit", AUDITOR),
    ("GET", "/audit/verify"): ("/audit/verify", AUDITOR),
    ("GET", "/api/v1/audit"): ("/api/v1/audit", AUDITOR),
    ("GET", "/api/v1/audit/verify"): ("/api/v1/audit/verify", AUDITOR),
    ("GET", "/register/arrival"): ("/register/arrival", PUBLIC),
    ("POST", "/register/arrival"): ("/register/arrival", PUBLIC),
    ("GET", "/register/arrival/done"): ("/register/arrival/done?ref=ABCDEFGHJK", PUBLIC),
    ("GET", "/register/arrival/lookup"): ("/register/arrival/lookup", PUBLIC),
    ("POST", "/register/arrival/lookup"): ("/register/arrival/lookup", PUBLIC),
    ("POST", "/api/v1/public/arrivals"): ("/api/v1/public/arrivals", PUBLIC),
    ("GET", "/arrivals"): ("/arrivals", REG_READERS),
    ("GET", "/arrivals/counts"): ("/arrivals/counts", REG_READERS),
    ("GET", "/arrivals/{arrival_id}"): ("/arrivals/{arrival}", REG_READERS),
    ("GET", "/api/v1/arrivals"): ("/api/v1/arrivals", REG_READERS),
    ("GET", "/api/v1/arrivals/{arrival_id}"): ("/api/v1/arrivals/{arrival}", REG_READERS),
    ("GET", "/register/gathering"): ("/register/gathering", PUBLIC),
    ("POST", "/register/gathering"): ("/register/gathering", PUBLIC),
    ("GET", "/register/gathering/manage/{token}"): ("/register/gathering/manage/{manage_token}", PUBLIC),
    ("POST", "/register/gathering/manage/{token}/attendees"): ("/register/gathering/manage/{manage_token}/attendees",
                                                               PUBLIC),
    ("GET", "/register/gathering/lookup"): ("/register/gathering/lookup", PUBLIC),
    ("POST", "/register/gathering/lookup"): ("/register/gathering/lookup", PUBLIC),
    ("GET", "/g/{token}"): ("/g/{sign_in_token}", PUBLIC),
    ("POST", "/g/{token}"): ("/g/{sign_in_token}", PUBLIC),
    ("GET", "/gatherings"): ("/gatherings", REG_READERS),
    ("GET", "/gatherings/{gathering_id}"): ("/gatherings/{gathering}", REG_READERS),
    ("GET", "/api/v1/gatherings"): ("/api/v1/gatherings", REG_READERS),
    ("GET", "/api/v1/gatherings/{gathering_id}"): ("/api/v1/gatherings/{gathering}", REG_READERS),
    ("GET", "/deployments"): ("/deployments", POLICE),
    ("GET", "/deployments/alerts"): ("/deployments/alerts", POLICE),
    ("GET", "/deployments/posts/new"): ("/deployments/posts/new", POLICE),
    ("POST", "/deployments/posts/new"): ("/deployments/posts/new", POLICE),
    ("GET", "/deployments/posts/{post_id}"): ("/deployments/posts/{post}", POLICE),
    ("GET", "/deployments/posts/{post_id}/edit"): ("/deployments/posts/{post}/edit", POLICE),
    ("POST", "/deployments/posts/{post_id}/edit"): ("/deployments/posts/{post}/edit", POLICE),
    ("POST", "/deployments/posts/{post_id}/shifts"): ("/deployments/posts/{post}/shifts", POLICE),
    ("POST", "/deployments/shifts/{shift_id}/members"): ("/deployments/shifts/{shift}/members", POLICE),
    ("GET", "/deployments/secondments"): ("/deployments/secondments", POLICE),
    ("POST", "/deployments/secondments"): ("/deployments/secondments", POLICE),
    ("GET", "/deployments/log"): ("/deployments/log", POLICE),
    ("POST", "/deployments/log"): ("/deployments/log", POLICE),
    ("GET", "/deployments/posts.xlsx"): ("/deployments/posts.xlsx", POLICE),
    ("GET", "/deployments/log.xlsx"): ("/deployments/log.xlsx", POLICE),
    ("GET", "/cases"): ("/cases", POLICE),
    ("GET", "/cases/new"): ("/cases/new", POLICE),
    ("POST", "/cases/new"): ("/cases/new", POLICE),
    ("GET", "/cases/{case_id}"): ("/cases/{offence_case}", POLICE),
    ("POST", "/cases/{case_id}/status"): ("/cases/{offence_case}/status", POLICE),
    ("POST", "/cases/{case_id}/persons"): ("/cases/{offence_case}/persons", POLICE),
    ("POST", "/cases/{case_id}/seizures"): ("/cases/{offence_case}/seizures", POLICE),
    ("POST", "/cases/{case_id}/leads"): ("/cases/{offence_case}/leads", POLICE),
    ("GET", "/cases.xlsx"): ("/cases.xlsx", POLICE),
    ("GET", "/supervision"): ("/supervision", POLICE),
    ("GET", "/supervision/new"): ("/supervision/new", SUPERVISORS),
    ("POST", "/supervision/new"): ("/supervision/new", SUPERVISORS),
    ("GET", "/supervision/{visit_id}"): ("/supervision/{visit}", POLICE),
    ("POST", "/supervision/{visit_id}/items"): ("/supervision/{visit}/items", SUPERVISORS),
    ("POST", "/supervision/items/{item_id}/rectify"): ("/supervision/items/{item}/rectify", POLICE),
    ("GET", "/supervision.xlsx"): ("/supervision.xlsx", POLICE),
    ("GET", "/api/v1/deployments/posts"): ("/api/v1/deployments/posts", POLICE),
    ("POST", "/api/v1/deployments/posts"): ("/api/v1/deployments/posts", POLICE),
    ("GET", "/api/v1/deployments/posts/{post_id}"): ("/api/v1/deployments/posts/{post}", POLICE),
    ("GET", "/api/v1/deployments/posts/{post_id}/roster"): ("/api/v1/deployments/posts/{post}/roster", POLICE),
    ("POST", "/api/v1/deployments/posts/{post_id}/shifts"): ("/api/v1/deployments/posts/{post}/shifts", POLICE),
    ("POST", "/api/v1/deployments/shifts/{shift_id}/members"): ("/api/v1/deployments/shifts/{shift}/members",
                                                                 POLICE),
    ("GET", "/api/v1/deployments/alerts"): ("/api/v1/deployments/alerts", POLICE),
    ("POST", "/api/v1/deployments/secondments"): ("/api/v1/deployments/secondments", POLICE),
    ("GET", "/api/v1/deployments/log"): ("/api/v1/deployments/log", POLICE),
    ("POST", "/api/v1/deployments/log"): ("/api/v1/deployments/log", POLICE),
    ("GET", "/api/v1/cases"): ("/api/v1/cases", POLICE),
    ("POST", "/api/v1/cases"): ("/api/v1/cases", POLICE),
    ("GET", "/api/v1/cases/counts"): ("/api/v1/cases/counts", POLICE),
    ("GET", "/api/v1/cases/{case_id}"): ("/api/v1/cases/{offence_case}", POLICE),
    ("POST", "/api/v1/cases/{case_id}/status"): ("/api/v1/cases/{offence_case}/status", POLICE),
    ("POST", "/api/v1/cases/{case_id}/persons"): ("/api/v1/cases/{offence_case}/persons", POLICE),
    ("POST", "/api/v1/cases/{case_id}/seizures"): ("/api/v1/cases/{offence_case}/seizures", POLICE),
    ("POST", "/api/v1/cases/{case_id}/leads"): ("/api/v1/cases/{offence_case}/leads", POLICE),
    ("GET", "/api/v1/supervision/visits"): ("/api/v1/supervision/visits", POLICE),
    ("POST", "/api/v1/supervision/visits"): ("/api/v1/supervision/visits", SUPERVISORS),
    ("GET", "/api/v1/supervision/visits/{visit_id}"): ("/api/v1/supervision/visits/{visit}", POLICE),
    ("POST", "/api/v1/supervision/items/{item_id}/rectify"): ("/api/v1/supervision/items/{item}/rectify", POLICE),
    # Removing a member, then its shift: after every row that uses them.
    ("POST", "/deployments/members/{member_id}/delete"): ("/deployments/members/{member}/delete", POLICE),
    ("POST", "/deployments/shifts/{shift_id}/delete"): ("/deployments/shifts/{shift}/delete", POLICE),
    ("GET", "/passes/apply"): ("/passes/apply", PUBLIC),
    ("POST", "/passes/apply"): ("/passes/apply", PUBLIC),
    ("GET", "/passes/apply/done"): ("/passes/apply/done?ref=ABCDEFGHJK", PUBLIC),
    ("GET", "/passes/status"): ("/passes/status", PUBLIC),
    ("POST", "/passes/status"): ("/passes/status", PUBLIC),
    ("GET", "/passes/keys.json"): ("/passes/keys.json", PUBLIC),
    ("GET", "/passes/revoked.json"): ("/passes/revoked.json", PUBLIC),
    ("GET", "/passes/verify"): ("/passes/verify", PUBLIC),
    ("GET", "/passes/sw.js"): ("/passes/sw.js", PUBLIC),
    ("GET", "/passes/assets/{name}"): ("/passes/assets/verify.js", PUBLIC),
    ("GET", "/passes"): ("/passes", PASS_STAFF),
    ("POST", "/passes/applications/decide"): ("/passes/applications/decide", PASS_STAFF),
    ("GET", "/passes/applications/{application_id}"): ("/passes/applications/{pass_application}", PASS_STAFF),
    ("POST", "/passes/applications/{application_id}/decide"): ("/passes/applications/{pass_application}/decide",
                                                               PASS_STAFF),
    ("GET", "/passes/applications/{application_id}/document"): ("/passes/applications/{pass_application}/document",
                                                                PASS_STAFF),
    ("GET", "/passes/export.xlsx"): ("/passes/export.xlsx", PASS_STAFF),
    ("GET", "/passes/{pass_id}"): ("/passes/{pass_id}", PASS_STAFF),
    ("GET", "/passes/{pass_id}/print"): ("/passes/{pass_id}/print", PASS_STAFF),
    ("POST", "/passes/{pass_id}/revoke"): ("/passes/{pass_id}/revoke", PASS_STAFF),
    ("GET", "/passes/bulk/new"): ("/passes/bulk/new", PASS_STAFF),
    ("POST", "/passes/bulk/new"): ("/passes/bulk/new", PASS_STAFF),
    ("POST", "/passes/bulk/confirm"): ("/passes/bulk/confirm", PASS_STAFF),
    ("POST", "/api/v1/passes/applications"): ("/api/v1/passes/applications", PASS_STAFF),
    ("GET", "/api/v1/passes/applications"): ("/api/v1/passes/applications", PASS_STAFF),
    ("GET", "/api/v1/passes/applications/{application_id}"): ("/api/v1/passes/applications/{pass_application}",
                                                              PASS_STAFF),
    ("POST", "/api/v1/passes/applications/{application_id}/decision"): (
        "/api/v1/passes/applications/{pass_application}/decision", PASS_STAFF),
    ("POST", "/api/v1/passes/applications/decisions"): ("/api/v1/passes/applications/decisions", PASS_STAFF),
    ("GET", "/api/v1/passes"): ("/api/v1/passes", PASS_STAFF),
    ("GET", "/api/v1/passes/{pass_id}"): ("/api/v1/passes/{pass_id}", PASS_STAFF),
    ("POST", "/api/v1/passes/{pass_id}/revoke"): ("/api/v1/passes/{pass_id}/revoke", PASS_STAFF),
    ("POST", "/api/v1/passes/verify"): ("/api/v1/passes/verify", CP_WRITE),
    ("GET", "/api/v1/checkpoints/{checkpoint_id}/pass-checks"): ("/api/v1/checkpoints/{checkpoint}/pass-checks",
                                                                 CP_READ),
    # Last: closing sign-in revokes the link the rows above use.
    ("POST", "/register/gathering/manage/{token}/sign-in"): ("/register/gathering/manage/{manage_token}/sign-in",
                                                             PUBLIC),
}


def app_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found: set[tuple[str, str]] = set()

    def walk(routes) -> None:  # type: ignore[no-untyped-def]
        for route in routes:
            if isinstance(route, Mount):
                continue  # static files
            if hasattr(route, "original_router"):  # an included router (FastAPI ≥ 0.160)
                walk(route.original_router.routes)
                continue
            assert isinstance(route, Route | APIRoute), route
            found.update((m, route.path) for m in route.methods or () if m != "HEAD")

    walk(app.routes)
    return found


def test_every_route_is_in_the_matrix(app) -> None:  # type: ignore[no-untyped-def]
    routes = app_routes(app)
    assert routes - MATRIX.keys() == set(), "routes without a decision on who may use them"
    assert MATRIX.keys() - routes == set(), "matrix rows for routes that no longer exist"


def _concrete(path: str, ids: dict[str, int]) -> str:
    return path.format(**ids)


@pytest.fixture
def ids(db, personas: Personas) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Objects inside the `station` persona's jurisdiction, a two-leg lead there, a manual-queue lead."""
    from sqlalchemy import select

    from fangkong.core.models import User
    from fangkong.people.models import Person

    with db.sessions() as s:
        station = s.execute(select(User).where(User.username == "station")).scalar_one()
        person = s.execute(select(Person.id).where(Person.unit_id == station.unit_id).limit(1)).scalar_one()
    leads = [{"name": "矩阵", "phone": "13800000001", "current_address": "兰州市城关区酒泉路街道庆阳路1号"},
             {"name": "矩阵二", "phone": "13800000002", "current_address": "不详"}]
    pushed = personas.browser("command").post(
        "/api/v1/leads/batches", json={"source": "矩阵", "two_legs": True, "leads": leads},
        headers=personas.headers("command")).json()
    lead = personas.browser("command").get(f"/api/v1/leads/{pushed['lead_ids'][0]}",
                                           headers=personas.headers("command")).json()
    police_leg = next(leg["id"] for leg in lead["legs"] if leg["kind"] == "police")
    from fangkong.checkpoints.models import Checkpoint
    from fangkong.core.riskareas import RiskArea

    with db.sessions() as s:
        checkpoint = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
        risk_area = s.execute(select(RiskArea.id).limit(1)).scalar_one()
    passage = personas.browser("checkpoint").post(
        f"/api/v1/checkpoints/{checkpoint}/passages", headers=personas.headers("checkpoint"),
        json={"client_id": "matrix-1", "plate": "甘A12345", "people": [
            {"name": "发热者", "id_number": "11010519491231002X", "temperature_c": 38.2, "disposition": "referred",
             "role": "driver"}]}).json()
    referral = personas.browser("health").get("/api/v1/referrals", headers=personas.headers("health")).json()[0]["id"]
    from datetime import UTC, datetime

    from fangkong.tracing.models import Exposure, TraceCase, TraceDispatch

    with db.unit_of_work() as s:
        other = s.execute(select(Person.id).where(Person.id != person).limit(1)).scalar_one()
        case = TraceCase(person_id=person, onset=datetime(2022, 3, 1, tzinfo=UTC), profile="edition-9")
        case.exposures.append(Exposure(contact_key=f"p:{other}", person_id=other, hop=1))
        s.add(case)
        s.flush()
        exposure = case.exposures[0].id
        run = TraceDispatch(case_id=case.id, user_id=station.id, digest="-", status="done", token="matrix-dispatch",
                            key="tracing.dispatch")  # a finished dispatch
        s.add(run)
        s.flush()
        dispatch_run = run.id
    from fangkong.observation.followups import generate_follow_ups, local_today
    from fangkong.observation.models import CareTeam, CareTeamMember, FollowUp

    with db.unit_of_work() as s:  # a demo observation whose care team has the community cadre in it
        generate_follow_ups(s, local_today())
        community = s.execute(select(User.id).where(User.username == "community")).scalar_one()
        team_obs, follow_up = s.execute(
            select(CareTeam.observation_id, FollowUp.id).join(CareTeamMember)
            .join(FollowUp, FollowUp.observation_id == CareTeam.observation_id)
            .where(CareTeamMember.user_id == community, FollowUp.day == local_today())
            .order_by(CareTeam.id).limit(1)).one()
    from fangkong.registration.venues.models import Inspection, Venue

    with db.sessions() as s:  # a compound in the station's area (community cadres see compounds only)
        venue = s.execute(select(Venue).where(Venue.kind == "residential_compound", Venue.unit_id == station.unit_id)
                          .order_by(Venue.id).limit(1)).scalar_one()
        inspection = s.execute(select(Inspection.id).order_by(Inspection.id).limit(1)).scalar_one()
    from fangkong.observation.selfreport import issue_link

    with db.unit_of_work() as s:
        station_user = s.execute(select(User).where(User.username == "station")).scalar_one()
        self_report_token = issue_link(s, station_user, team_obs).token
    pair, merge = _pair_and_merge(db, personas, person)
    registration = _registrations(db)
    registration.update(_deployments(db, station.unit_id))
    return {**registration, **_passes(db, personas), "export_run": _export_run(db, personas),
            "import_job": _import_job(db, personas), "own_pair": pair,
            "own_merge": merge, "team_obs": team_obs,
            "follow_up": follow_up, "self_report_token": self_report_token,
            "own_person": person, "station_unit": station.unit_id, "station_user": station.id,
            "checkpoint": checkpoint, "risk_area": risk_area, "passage": passage["id"], "referral": referral,
            "lead": lead["id"], "leg": police_leg, "manual_lead": pushed["lead_ids"][1],
            "batch": pushed["batch_id"], "exposure": exposure, "dispatch_run": dispatch_run, "venue": venue.id,
            "venue_code": venue.token,
            "venue_inspection": inspection}


def _pair_and_merge(db, personas: Personas, person: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A review pair and a merge, both within the `station` persona's jurisdiction."""
    from fangkong.people.models import MatchPair

    made = [personas.browser("station").post("/api/v1/persons", headers=personas.headers("station"), json={
        "name": "矩阵合并", "doc_type": "passport", "doc_number": f"E1234567{n}"}).json()["id"] for n in (1, 2)]
    with db.sessions() as s, s.begin():
        pair = MatchPair(left_id=person, right_id=made[0], score=8.0, reasons="name_exact")
        s.add(pair)
        s.flush()
        pair_id = pair.id
    merge = personas.browser("station").post(f"/api/v1/persons/{made[0]}/merge", headers=personas.headers("station"),
                                             json={"merged_id": made[1], "reason": "矩阵测试"})
    assert merge.status_code == 201, merge.text
    return pair_id, merge.json()["id"]


def _deployments(db, unit_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A demo post of the `station` persona's unit with a shift and a member, a case, a supervision visit and item."""
    from sqlalchemy import select

    from fangkong.deployments.models import OffenceCase, Post, RectificationItem, Shift, ShiftMember, SupervisionVisit

    with db.sessions() as s:
        post = s.execute(select(Post.id).where(Post.unit_id == unit_id).order_by(Post.id).limit(1)).scalar_one()
        shift, member = s.execute(select(Shift.id, ShiftMember.id).join(ShiftMember).where(Shift.post_id == post)
                                  .order_by(Shift.id, ShiftMember.id).limit(1)).one()
        case = s.execute(select(OffenceCase.id).where(OffenceCase.unit_id == unit_id).limit(1)).scalar_one()
        visit, item = s.execute(select(SupervisionVisit.id, RectificationItem.id).join(RectificationItem)
                                .where(SupervisionVisit.unit_id == unit_id).limit(1)).one()
    return {"post": post, "shift": shift, "member": member, "offence_case": case, "visit": visit, "item": item}


def _registrations(db) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """An arrival and a gathering in the `station` persona's jurisdiction, registered by the public."""
    from datetime import date, timedelta

    from fangkong.registration.arrivals.service import ArrivalInput, register_arrival
    from fangkong.registration.gatherings.service import AttendeeInput, GatheringInput, register_gathering

    address = "兰州市城关区酒泉路街道庆阳路1号"
    with db.unit_of_work() as s:
        arrival = register_arrival(s, ArrivalInput(
            name="矩阵来人", doc_number="11010519491231002X", phone="13800000003", origin_code="110105",
            departed_on=date.today().isoformat(), arrived_on=date.today().isoformat(), transport="other",
            destination_address=address, consent=True), 28)
        gathering = register_gathering(s, GatheringInput(
            kind="market", title="矩阵集市", date=(date.today() + timedelta(days=1)).isoformat(), start_time="09:00",
            address=address, expected_size="50", organiser_name="组织者", organiser_phone="13800000004"),
            [AttendeeInput(name="赶集人", doc_number="11010519491231002X", phone="13800000005")], 28)
        return {"arrival": arrival.id, "gathering": gathering.id, "manage_token": gathering.manage_token,
                "sign_in_token": gathering.sign_in_token}


def _passes(db, personas: Personas) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A pending application with a document and an issued pass, both decided by the `station` persona's unit
    (so that station, its district and command all see them)."""
    from datetime import timedelta

    from fangkong.passes.applications import ApplicationInput, Decision, Document, HolderInput, apply, decide, today
    from fangkong.passes.tokens import key_ring

    settings = personas.app.state.settings
    made = []
    with db.unit_of_work() as s:
        for plate in ("甘A77771", "甘A77772"):
            data = ApplicationInput(company="矩阵物流", contact_phone="13800000006",
                                    address="兰州市城关区酒泉路街道1号", purpose="daily_supplies", route="G30",
                                    valid_from=today().isoformat(),
                                    valid_until=(today() + timedelta(days=3)).isoformat(),
                                    holders=[HolderInput(plate=plate)], consent=True)
            made.append(apply(s, data, Document("证明.pdf", b"%PDF-1.4 matrix"), settings.var_dir, "station", 28))
        station = s.execute(select_user("station")).scalar_one()
        decide(s, station, key_ring(settings.var_dir), made[1], Decision(approve=True))
        return {"pass_application": made[0].id, "pass_id": made[1].passes[0].id}


def _export_run(db, personas: Personas) -> int:  # type: ignore[no-untyped-def]
    """A finished export of the `station` persona (only its owner may see or download it)."""
    exports = personas.app.state.exports
    with db.unit_of_work() as s:
        run_id = exports.request(s, s.execute(select_user("station")).scalar_one(), "people.persons", {}).id
    exports.write(run_id)
    return run_id


def _import_job(db, personas: Personas) -> int:  # type: ignore[no-untyped-def]
    """A previewed lead sheet import of the `command` persona, waiting for its confirmation (owner only)."""
    imports = personas.app.state.imports
    data = "姓名,手机号,现住址\n张三,13900000001,兰州市城关区酒泉路街道1号\n".encode()
    with db.unit_of_work() as s:
        job_id = imports.submit(s, s.execute(select_user("command")).scalar_one(), "leads.sheet",
                                {"source": "省指挥部"}, "推送.csv", data).id
    imports.run(job_id)
    return job_id


def select_user(username: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from fangkong.core.models import User

    return select(User).where(User.username == username)


def _call(client, method: str, path: str, api: bool, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    if api:
        return client.request(method, path, headers=headers, json={} if method != "GET" else None,
                              follow_redirects=False)
    data = {"csrf_token": csrf(client)} if method != "GET" else None
    return client.request(method, path, data=data, follow_redirects=False)


@pytest.mark.parametrize("role", ROLES)
def test_role_gets_exactly_what_the_matrix_allows(role: str, app, personas: Personas, ids) -> None:  # type: ignore[no-untyped-def]
    browser = personas.browser(role)
    headers = personas.headers(role)
    for (method, template), (path, allowed) in MATRIX.items():
        if template in ("/logout", "/login", "/api/v1/auth/token"):
            continue  # they change who is logged in; tested in test_shell
        if template == "/metrics":
            continue  # not by role but by address or token (tests/ops/test_ops_endpoints.py)
        api = path.startswith("/api/")
        r = _call(browser, method, _concrete(path, ids), api, headers)
        where = f"{role} {method} {template}"
        if allowed != PUBLIC:  # private by default: no page or answer of a logged-in user is kept by a cache
            assert "no-store" in r.headers.get("cache-control", ""), f"{where}: may be cached"
        if allowed == PUBLIC or role in allowed:
            assert r.status_code not in (401, 403, 404, 500), f"{where}: {r.status_code} {r.text[:200]}"
        elif role in SCOPE_ONLY.get((method, template), ()):
            assert r.status_code in (404, 422), f"{where}: {r.status_code}"
        else:
            assert r.status_code in (403, 404), f"{where}: {r.status_code}"


def test_anonymous_is_sent_to_login_or_told_401(client, ids) -> None:  # type: ignore[no-untyped-def]
    for (method, template), (path, allowed) in MATRIX.items():
        if allowed == PUBLIC:
            continue
        api = path.startswith("/api/")
        r = _call(client, method, _concrete(path, ids), api, {})
        where = f"anonymous {method} {template}"
        if api or template.endswith(".json"):  # data, not a page: problem JSON (core.web.errors.wants_json)
            assert r.status_code == 401, where
            assert r.headers["content-type"].startswith("application/problem+json"), where
        elif method == "GET":
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), where
        else:
            assert r.status_code == 401, where
