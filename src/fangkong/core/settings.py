"""Settings: the only module that reads the environment.

Every variable is `FANGKONG_<NAME>`; the table in README.md documents each one.
Everything else receives a `Settings` instance as an argument.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCALES = ("zh_CN", "en")


class Settings(BaseSettings):
    """Typed, validated configuration read from `FANGKONG_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="FANGKONG_", extra="ignore")

    var_dir: Path = Field(Path("var"), description="Folder for the embedded database, presence store, secret key.")
    database_url: str = Field("", description="SQLAlchemy URL; default: SQLite file var/fangkong.db.")
    secret_key: str = Field("", description="Signing key; default: generated once and kept in var/secret_key.")
    audit_key: str = Field("", description="HMAC key of the audit log's hash chain and its anchors; default: "
                           "generated once and kept in var/audit_key. Keep it off the database server.")
    audit_anchor_minutes: int = Field(60, ge=1, le=1440, description="How often the scheduler anchors the "
                                      "audit chain's head in var/audit_anchors.jsonl (outside the database).")
    demo: bool = Field(False, description="Demo mode: the demo city's logins are printed and allowed.")
    default_locale: str = Field("zh_CN", description="Language when the user has not chosen one.")
    protocol_profile: str = Field("edition-9", description="Protocol profile name (see PROTOCOL.md).")
    session_idle_minutes: int = Field(30, ge=1, description="Log out after this long without a request.")
    session_max_hours: int = Field(12, ge=1, description="A login lasts at most this long.")
    api_token_hours: int = Field(12, ge=1, description="Lifetime of an API bearer token.")
    login_max_failures: int = Field(5, ge=1, description="Wrong passwords in a row before lockout.")
    login_lockout_minutes: int = Field(15, ge=1, description="How long a locked account stays locked.")
    argon2_memory_kib: int = Field(65536, ge=8, description="argon2 memory cost (tests lower it).")
    argon2_time_cost: int = Field(3, ge=1, description="argon2 time cost.")
    secure_cookies: bool = Field(False, description="Mark cookies Secure (set behind HTTPS).")
    presence_sync_days: int = Field(31, ge=1, le=400, description="Days of the platform's own stays tracing "
                                    "copies into the presence store (look-back plus the longest window).")
    tracing_engine: Literal["embedded", "spark"] = Field(
        "embedded", description="Engine of `fangkong trace`: embedded (NumPy, one machine) or spark (a province).")
    page_size: int = Field(50, ge=5, le=500, description="Rows per page in lists.")
    redis_url: str = Field("", description="Redis (redis://host:6379/0) shared by all workers and machines: "
                           "rate limits, cache invalidation, scheduler leadership. Empty: each process alone.")
    metrics_token: str = Field("", description="Bearer token for GET /metrics from other hosts (loopback needs "
                               "none). Keep /metrics off the public proxy.")
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text, or as one JSON object "
                                                "per line (for a log collector). Neither carries personal data.")
    export_keep_hours: int = Field(24, ge=1, le=24 * 30, description="Exported sheets are deleted this many "
                                   "hours after they were asked for.")
    referral_overdue_minutes: int = Field(
        30, ge=1, description="A referral not acknowledged by health after this long is overdue.")
    care_team_roles: str = Field(
        "officer=station,cadre=community,doctor=health|community",
        description="Care team (N包1) roles, in order: team role = the user roles that may fill it ('|' between).",
    )
    registration_retention_days: int = Field(
        28, ge=1, le=366, description="Arrival and gathering registrations are purged this many days after "
        "the arrival or the event (PIPL: the shortest period the purpose needs).")
    registration_rate_limit: int = Field(
        20, ge=1, description="Public registration forms sent per IP address within the window below.")
    registration_rate_window_seconds: int = Field(600, ge=1, description="Window of the public rate limit.")
    public_url: str = Field("", description="Base URL printed on venue posters (default: the request's own).")
    visit_assumed_stay_minutes: int = Field(
        60, ge=1, le=24 * 60, description="A visit without a check-out counts as a stay of this length for tracing.")
    venue_cache_seconds: float = Field(
        10.0, ge=0, le=3600, description="How long a worker trusts its cached venue code (disable/rotate delay).")
    checkin_device_per_minute: float = Field(6.0, gt=0, description="Check-ins per minute per device (cookie).")
    checkin_device_burst: int = Field(10, ge=1, description="Check-ins a device may make at once.")
    checkin_ip_per_minute: float = Field(1200.0, gt=0, description="Check-ins per minute per IP address (NAT!).")
    checkin_ip_burst: int = Field(300, ge=1, description="Check-ins an IP address may make at once.")
    checkin_batch_max: int = Field(500, ge=1, le=5000, description="Most check-ins written in one transaction.")
    passes_approving_level: Literal["station", "district", "command"] = Field(
        "district", description="Which unit decides on a pass application: the station, the district sub-bureau "
        "or the command centre over the address the applicant gives (an address the city does not place: command).")
    passes_max_speed_kmh: float = Field(
        150.0, gt=0, le=1000, description="A pass checked at two checkpoints farther apart than this speed allows in "
        "the time between is flagged (a copied QR code); used when both checks carry a position.")
    passes_min_transfer_minutes: int = Field(
        10, ge=0, le=24 * 60, description="Without positions: a pass checked at two different checkpoints within "
        "this many minutes is flagged.")
    lead_deadlines: str = Field(
        "express=5/10,urgent=120/120,normal=midnight/midnight",
        description="Per priority: minutes to verify / to report back, or 'midnight' (24:00 local).",
    )

    earliest_event: date = Field(date(2019, 12, 1), description="Earliest plausible event time the platform "
                                 "accepts (passages, cases, leads, filters); earlier is a 422.")
    future_slack_hours: float = Field(24.0, ge=0, le=24 * 31, description="How far ahead of now an event time "
                                      "may lie (device clocks, time zones); later is a 422.")
    upload_max_mb: int = Field(20, ge=1, le=1024, description="Largest uploaded sheet (.xlsx/.csv) in MB, as sent.")
    upload_max_inflated_mb: int = Field(256, ge=1, le=8192, description="Most MB an .xlsx may declare once "
                                        "unpacked (all parts together; shared strings alone: a quarter).")
    upload_max_rows: int = Field(200_000, ge=10, description="Most rows in an uploaded sheet.")
    upload_max_columns: int = Field(200, ge=5, le=16384, description="Most columns in an uploaded sheet.")
    upload_background_rows: int = Field(2000, ge=0, description="An uploaded sheet with more rows than this is read, "
                                        "checked and imported as a background job with a progress page (smaller "
                                        "ones in their request).")
    upload_background_kb: int = Field(1024, ge=0, description="… and so is one larger than this many KB.")
    import_keep_hours: int = Field(24, ge=1, le=24 * 30, description="Sheet import jobs (their previews, and an "
                                   "upload not yet confirmed) are deleted this many hours after their last step; "
                                   "the uploaded file itself goes as soon as its job is done or failed.")
    body_max_kb: int = Field(1024, ge=16, description="Largest request body in KB, for requests other than "
                             "sheet uploads (those get FANGKONG_UPLOAD_MAX_MB).")
    body_anonymous_max_kb: int = Field(256, ge=4, description="Largest body of a request without a session or "
                                       "token, checked before anything reads it (public forms are small).")
    login_ip_limit: int = Field(30, ge=1, description="Login attempts (page and API) per IP address within the "
                                "window below; then 429 before any password is checked.")
    login_ip_window_seconds: int = Field(600, ge=1, description="Window of the per-IP login limit.")
    checkin_remember_hours: int = Field(12, ge=1, le=24 * 7, description="How long a phone may keep the name "
                                        "and mobile number it asked to remember (encrypted cookie).")
    visit_retention_days: int = Field(28, ge=1, le=3660, description="Venue visits are purged this many days "
                                      "after the check-in.")
    passage_retention_days: int = Field(60, ge=1, le=3660, description="Checkpoint passages (and the people "
                                        "in them) are purged this many days after the passage.")
    presence_retention_days: int = Field(28, ge=1, le=3660, description="Records in the tracing presence store "
                                         "(the platform's stays, imported files) are dropped this many days "
                                         "after they end (as long as visits are kept, by default).")
    upload_retention_days: int = Field(7, ge=1, le=3660, description="Uploaded sheets kept in var/uploads "
                                       "(full ID numbers) are deleted this many days after upload.")

    scheduler: bool = Field(True, description="Run the scheduler (escalations, reminders, roll-ups) in this "
                            "process; with several workers one leads (PostgreSQL advisory lock). Off: use "
                            "`fangkong tick` from cron.")
    scheduler_tick_seconds: float = Field(5.0, ge=0.1, le=600, description="How often the scheduler looks for "
                                          "due jobs.")
    daily_report_deadline: str = Field("17:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                                       description="Local time by which every reporting unit submits its "
                                       "daily report (日报); missing units are reminded then.")
    self_report_call_hour: str = Field("10:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                                       description="Local time (Asia/Shanghai) by which a person under observation "
                                       "self-reports; those who have not are put first on their care team's "
                                       "follow-up list, to be called.")
    self_report_rate_limit: int = Field(20, ge=1, le=10_000, description="Self-report submissions per IP "
                                        "address per hour (a personal link is sent at most twice a day).")
    rollup_every_minutes: int = Field(10, ge=1, le=1440, description="How often today's and yesterday's "
                                      "figures are rolled up again (the night's rebuild covers the rest).")

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}")
        return value

    @field_validator("lead_deadlines")
    @classmethod
    def _deadlines(cls, value: str) -> str:
        from fangkong.core.rules import parse_rules

        parse_rules(value)
        return value

    @field_validator("care_team_roles")
    @classmethod
    def _care_roles(cls, value: str) -> str:
        from fangkong.core.rules import parse_team_roles

        parse_team_roles(value)
        return value

    def model_post_init(self, _context: object) -> None:
        self.var_dir = self.var_dir.resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'fangkong.db'}"
        if not self.secret_key:
            self.secret_key = _kept_secret(self.var_dir / "secret_key")
        elif len(self.secret_key) < 32:
            raise ValueError("FANGKONG_SECRET_KEY must be at least 32 characters")
        if not self.audit_key:
            self.audit_key = _kept_secret(self.var_dir / "audit_key")
        elif len(self.audit_key) < 32:
            raise ValueError("FANGKONG_AUDIT_KEY must be at least 32 characters")

    @property
    def presence_dir(self) -> Path:
        return self.var_dir / "presence"

    @property
    def export_dir(self) -> Path:
        return self.var_dir / "exports"

    @property
    def audit_anchor_file(self) -> Path:
        return self.var_dir / "audit_anchors.jsonl"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _kept_secret(path: Path) -> str:
    """Return the secret kept at `path`, generating it on first run (never committed: var/ is ignored)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def load_settings(**overrides: object) -> Settings:
    """Return settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
