"""The web layer: `create_app()` builds the Flask app on the domain and the storage."""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from matcher import PROJECT_ROOT, __version__
from matcher.storage.database import default_database_url

# The logger name operators filter on, kept when the factory moved out of matcher/__init__.py.
log = logging.getLogger("matcher")


MIN_SECRET_KEY_LENGTH = 32


def _ensure_secret_key(app: Flask) -> None:
    """Use the configured SECRET_KEY, or make a random one for this run and say so.

    A key that is not a string of at least 32 characters stops start-up with one line: a
    number (MATCHER_SECRET_KEY=12345 is read as JSON) would fail every page with a session.
    """
    from matcher.errors import ConfigError

    key = app.config.get("SECRET_KEY")
    if key is not None and key != "":
        if not isinstance(key, str):
            if isinstance(key, bool):
                kind = "true or false"
            elif isinstance(key, int | float):
                kind = "a number"
            else:
                kind = f"a JSON {type(key).__name__}"
            raise ConfigError(
                "MATCHER_SECRET_KEY",
                f"must be a string of at least {MIN_SECRET_KEY_LENGTH} characters, not {kind} "
                "(the value is read as JSON when it parses); make one with: "
                "python3 -c 'import secrets; print(secrets.token_hex(32))'",
            )
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                "MATCHER_SECRET_KEY",
                f"must be at least {MIN_SECRET_KEY_LENGTH} characters, not {len(key)}; make one "
                "with: python3 -c 'import secrets; print(secrets.token_hex(32))'",
            )
        return
    app.config["SECRET_KEY"] = secrets.token_hex(32)
    # gunicorn builds the app in the master first (on_starting) and forks the workers after:
    # exported here, the one random key reaches every worker, so a staff login works on all.
    os.environ["MATCHER_SECRET_KEY"] = app.config["SECRET_KEY"]
    log.warning(
        "MATCHER_SECRET_KEY is not set: using a random key for this run; staff logins end "
        "when the service restarts. Set MATCHER_SECRET_KEY in production."
    )


def _check_public_url(app: Flask) -> None:
    """Refuse a MATCHER_PUBLIC_URL that is not an http(s) origin with an optional path."""
    from urllib.parse import urlsplit

    from matcher.errors import ConfigError

    url = app.config.get("PUBLIC_URL")
    if url is None or url == "":
        return
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ConfigError(
            "MATCHER_PUBLIC_URL",
            f"{url!r} is not a public address like https://clinic.example or "
            "https://clinic.example/matcher (no query, fragment or user)",
        )


def _check_journey_settings(app: Flask) -> None:
    """Refuse a clinic time zone, draft timeout or reply delay that cannot be used."""
    from matcher.clinic_time import clinic_zone
    from matcher.errors import ConfigError

    app.extensions["clinic_zone"] = clinic_zone(app.config["CLINIC_TIMEZONE"])
    if app.config["FRONT_PAGE"] not in ("steps", "single"):
        raise ConfigError(
            "MATCHER_FRONT_PAGE", f"{app.config['FRONT_PAGE']!r} is not steps or single"
        )
    for key, low, high in (("DRAFT_MINUTES", 1, 1440), ("REPLY_WORKING_DAYS", 0, 30)):
        value = app.config[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | str)
            or not (str(value).isdigit() and low <= int(value) <= high)
        ):
            raise ConfigError(
                f"MATCHER_{key}", f"{value!r} is not a whole number from {low} to {high}"
            )
        app.config[key] = int(value)


def _private_state(app: Flask) -> None:
    """Make the state folder and an SQLite database private to this user, saying what was not."""
    from matcher.private_files import make_private, private_folder
    from matcher.storage.database import sqlite_files

    state_dir = Path(app.config["STATE_DIR"])
    database_url = app.config["DATABASE_URL"] or default_database_url(state_dir)
    try:
        private_folder(state_dir)
    except OSError:
        return  # the database (or the last good copy) will say what is wrong with the folder
    for change in make_private([state_dir, *sqlite_files(database_url)]):
        # Others could read referral contacts and password hashes until now.
        log.warning(json.dumps({"event": "state.not_private", "problem": change}))


def _open_database(app: Flask) -> None:
    """Migrate the database, purge expired referrals, and hold the accounts and referrals.

    A database that cannot be reached stops start-up with a ConfigError when DATABASE_REQUIRED
    (the first start); a worker restarted during an outage starts anyway and answers 503 on
    what needs the database, while matching goes on.
    """
    from sqlalchemy.exc import ArgumentError, OperationalError

    from matcher.errors import ConfigError
    from matcher.notifications import settings_from
    from matcher.storage.accounts import Accounts
    from matcher.storage.database import make_engine, migrate, unreachable, unusable
    from matcher.storage.drafts import Drafts
    from matcher.storage.outbox import Notifier, Outbox
    from matcher.storage.referrals import Referrals

    database_url = app.config["DATABASE_URL"] or default_database_url(app.config["STATE_DIR"])
    try:
        engine = make_engine(database_url)
    except (ArgumentError, ImportError, ValueError) as exc:
        # A URL SQLAlchemy cannot parse, an unknown dialect, or its driver not installed.
        raise ConfigError("MATCHER_DATABASE_URL", unusable(database_url, exc)) from None
    settings = settings_from(app.config)
    notifier = Notifier(Outbox(engine, settings))
    app.extensions["accounts"] = Accounts(engine)
    app.extensions["notifier"] = notifier
    app.extensions["referrals"] = Referrals(
        engine, settings, str(app.config["SECRET_KEY"]), on_urgent=notifier.wake
    )
    app.extensions["drafts"] = Drafts(
        engine, str(app.config["SECRET_KEY"]), int(app.config["DRAFT_MINUTES"])
    )
    if app.config["RETENTION_DAYS"]:
        # Purged at every start, and then hourly by this worker's sender while it runs.
        days = timedelta(days=int(app.config["RETENTION_DAYS"]))
        notifier.housekeeping = functools.partial(app.extensions["referrals"].purge_closed, days)
    try:
        migrate(database_url, Path(app.config["STATE_DIR"]))
        if app.config["RETENTION_DAYS"]:
            app.extensions["referrals"].purge_closed(days)
        app.extensions["drafts"].purge_expired()
    except OperationalError as exc:
        engine.dispose()
        if app.config["DATABASE_REQUIRED"]:
            raise ConfigError("MATCHER_DATABASE_URL", unreachable(database_url, exc)) from None
        log.error(
            json.dumps({"event": "database.unavailable_at_start", "error": type(exc.orig).__name__})
        )


def _start_notifier(app: Flask) -> None:
    """Say who urgent referrals reach, and run this worker's sender unless told not to."""
    notifier = app.extensions["notifier"]
    settings = notifier.settings
    if not settings.channels:
        log.warning(
            json.dumps(
                {
                    "event": "notify.no_channel",
                    "message": "urgent referrals notify nobody: set MATCHER_SMTP_HOST and "
                    "MATCHER_NOTIFY_TO, or MATCHER_WEBHOOK_URL and MATCHER_WEBHOOK_SECRET",
                }
            )
        )
        return
    if not settings.public_url:
        log.warning(
            json.dumps(
                {
                    "event": "notify.no_public_url",
                    "message": "MATCHER_PUBLIC_URL is not set: notifications link to a path "
                    "(/staff/referrals/ID) without the address of the service",
                }
            )
        )
    if settings.in_service:
        notifier.start()


def _clock(app: Flask) -> Any:
    """The clock licences and confirmations are judged by: the real date, or MATCHER_TODAY."""
    import datetime

    from matcher.errors import ConfigError
    from matcher.matching import utc_today

    fixed = app.config.get("TODAY")
    if fixed in (None, ""):
        return utc_today
    if isinstance(fixed, datetime.date):
        return lambda: fixed
    try:
        day = datetime.date.fromisoformat(str(fixed))
    except ValueError:
        raise ConfigError("MATCHER_TODAY", f"{fixed!r} is not a date (YYYY-MM-DD)") from None
    return lambda: day


def _load(app: Flask, rules_dir: Path, roster: Path) -> tuple[Any, Any]:
    from matcher.checklist import CHECKLIST_FILE, load_checklist
    from matcher.errors import ConfigError
    from matcher.matching import Matcher

    adult_age = app.config["ADULT_AGE"]
    if isinstance(adult_age, bool) or not isinstance(adult_age, int) or not 1 <= adult_age <= 120:
        raise ConfigError(
            "MATCHER_ADULT_AGE", f"must be a whole number of years, not {adult_age!r}"
        )
    matcher = Matcher.from_files(
        rules_dir,
        roster,
        app.config["LOCALE"],
        clinic_country=app.config["CLINIC_COUNTRY"] or None,
        today=_clock(app),
        hide_licence_numbers=app.config["HIDE_LICENCE_NUMBERS"] is True,
        adult_age=adult_age,
    )
    checklist = load_checklist(
        rules_dir / CHECKLIST_FILE,
        f"{rules_dir.name}/{CHECKLIST_FILE}",
        matcher.knowledge.vocabulary,
        matcher.knowledge.sources,
    )
    return matcher, checklist


def _load_rules_and_roster(app: Flask) -> tuple[Any, Any]:
    """Load rules and roster; after a failed reload, the last good copy, saying why."""
    from matcher import last_good
    from matcher.errors import ConfigError

    rules_dir, roster = Path(app.config["RULES_DIR"]), Path(app.config["ROSTER_PATH"])
    state_dir = Path(app.config["STATE_DIR"])
    try:
        matcher, checklist = _load(app, rules_dir, roster)
    except ConfigError as exc:
        kept = last_good.find(state_dir) if app.config["KEEP_LAST_GOOD"] else None
        if kept is None:
            raise
        matcher, checklist = _load(app, *kept)
        app.extensions["reload_error"] = str(exc)
        log.error(
            json.dumps(
                {
                    "event": "rules.reload_failed",
                    "problem": str(exc),
                    "serving_rules_version": matcher.rules_version,
                }
            )
        )
        return matcher, checklist
    if app.config["KEEP_LAST_GOOD"]:
        last_good.save(state_dir, matcher.rules_version, rules_dir, roster)
    return matcher, checklist


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: load config, build the Matcher once for this worker, register blueprints."""
    from matcher.notifications import VERBATIM_SETTINGS
    from matcher.web import language, logs, risk_gate, security
    from matcher.web.api import bp as api_bp
    from matcher.web.checklist_api import bp as checklist_api_bp
    from matcher.web.error_handlers import register_error_handlers
    from matcher.web.journeys import bp as journeys_bp
    from matcher.web.openapi import build_spec
    from matcher.web.pages import bp as web_bp
    from matcher.web.response_cache import ResponseCache
    from matcher.web.staff import bp as staff_bp

    app = Flask(__name__)
    app.config.from_mapping(
        RULES_DIR=str(PROJECT_ROOT / "rules"),
        ROSTER_PATH=str(PROJECT_ROOT / "therapists.yaml"),
        MAX_CONTENT_LENGTH=64 * 1024,
        # Whole match responses kept per worker (0 turns it off); identical requests reuse them.
        RESPONSE_CACHE_SIZE=1024,
        # Requests per client address on the public endpoints ("" turns limiting off); the
        # store is per process unless a shared one is named (redis://... for several instances).
        RATE_LIMIT="120 per minute",
        # Staff login attempts per client address: its own setting, so that turning the public
        # limit off never leaves the password open to fast guessing ("" turns it off too).
        LOGIN_RATE_LIMIT="10 per minute",
        RATE_LIMIT_STORAGE_URI="memory://",
        # Origins (clinic sites) whose pages may call the API from a browser.
        CORS_ORIGINS=[],
        # Reverse proxies in front of the service, whose X-Forwarded-For to trust.
        TRUSTED_PROXIES=0,
        LOG_LEVEL="INFO",
        # Under gunicorn: keep the last rules and roster that loaded (in STATE_DIR), and serve
        # them when a reload finds the files broken. Off elsewhere: bad files raise.
        KEEP_LAST_GOOD=False,
        STATE_DIR=str(PROJECT_ROOT / "var"),
        # ISO 3166-1 alpha-2 country of the clinic: which crisis resources to show.
        LOCALE=None,
        # The language of a person who has not picked one and whose browser asks for none we
        # offer; LANGUAGES lists those offered (a list or "en,es"; unset: every one shipped).
        DEFAULT_LANGUAGE="en",
        LANGUAGES=None,
        # ISO 3166-1 alpha-2 country where the clinic's clients are taken to be during sessions
        # when they do not say (a licence is for a place): the default of the intake's location.
        CLINIC_COUNTRY=None,
        # A fixed date (YYYY-MM-DD) to judge licence expiry and availability confirmations by,
        # for tests and demonstrations; unset, today's date in UTC.
        TODAY=None,
        # Public profiles show each licence's register and title, without its number.
        HIDE_LICENCE_NUMBERS=False,
        # The age the clinic treats as adult: under it, the rules for children and young people
        # apply and the age requirement is never relaxed (rules/clinical/young_people.yaml).
        ADULT_AGE=18,
        # How staff reach the on-call clinician, for the console's urgent protocol.
        ON_CALL=None,
        # Staff accounts and the audit log; SQLite in STATE_DIR unless a URL is given
        # (postgresql+psycopg://...). The console is closed (503) until an account exists.
        DATABASE_URL=None,
        # A database that cannot be reached stops start-up; gunicorn's workers start anyway
        # (false in gunicorn.conf.py) so that matching survives a database outage.
        DATABASE_REQUIRED=True,
        # Closed referrals are deleted this many days after closing (checked at every start).
        RETENTION_DAYS=365,
        SECRET_KEY=None,
        # Where people and staff reach the service (https://clinic.example/matcher), for links
        # it writes into pages and notifications; unset, they are paths.
        PUBLIC_URL=None,
        # A staff session ends after this long without a request, and this long after login.
        STAFF_SESSION_IDLE_MINUTES=30,
        STAFF_SESSION_MAX_HOURS=12,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Set true behind TLS: the staff session cookie then travels over HTTPS only.
        SESSION_COOKIE_SECURE=False,
        # Urgent referrals notify the clinic by e-mail and/or a signed webhook (README).
        SMTP_HOST=None,
        SMTP_PORT=None,
        SMTP_TLS="starttls",
        SMTP_USERNAME=None,
        SMTP_PASSWORD=None,
        NOTIFY_FROM=None,
        NOTIFY_TO=None,
        ESCALATION_TO=None,
        WEBHOOK_URL=None,
        WEBHOOK_SECRET=None,
        # An urgent referral not acknowledged this many minutes after it arrived is escalated.
        URGENT_ACK_MINUTES=30,
        # Near-identical urgent referrals from one address within this many minutes are one
        # group in the queue, notified once (0 turns grouping off).
        URGENT_GROUP_MINUTES=10,
        # Seconds between sender passes (a new urgent referral wakes the sender at once).
        NOTIFY_INTERVAL=30,
        # Each worker sends notifications itself; false when only `matcher notify` sends.
        NOTIFY_IN_SERVICE=True,
        # What "/" shows: "steps" (the form one question a page, then check your answers) or
        # "single" (the whole form on one page, also at /form, for clinics that embed it).
        FRONT_PAGE="steps",
        # A stepped form's or console call's answers are forgotten this long after the last step.
        DRAFT_MINUTES=30,
        # The clinic's time zone (IANA name): staff pages show times in it, and "by when".
        CLINIC_TIMEZONE="UTC",
        # Working days (Monday to Friday) within which the clinic replies to a person who asks.
        REPLY_WORKING_DAYS=2,
    )
    app.config.from_prefixed_env("MATCHER")
    for key in VERBATIM_SETTINGS:
        if f"MATCHER_{key}" in os.environ:
            app.config[key] = os.environ[f"MATCHER_{key}"]
    if test_config:
        app.config.from_mapping(test_config)
    app.json.sort_keys = True  # type: ignore[attr-defined]  # same intake, same bytes
    _ensure_secret_key(app)
    _check_public_url(app)
    _check_journey_settings(app)

    _private_state(app)
    _open_database(app)
    matcher, checklist = _load_rules_and_roster(app)
    app.extensions["matcher"] = matcher
    app.extensions["checklist"] = checklist
    # Built when first asked for: a fifth of what building the app costs, and most workers
    # never serve the document.
    app.extensions["openapi"] = functools.cache(functools.partial(build_spec, matcher, __version__))
    app.extensions["response_cache"] = ResponseCache(app.config["RESPONSE_CACHE_SIZE"])
    language.install(app)
    logs.configure_logging(app.config["LOG_LEVEL"])
    logs.install(app)
    # Before the rate limiter (installed by security): risk is read before anything can refuse.
    risk_gate.install(app)
    security.install(app)
    register_error_handlers(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(checklist_api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(journeys_bp)
    app.register_blueprint(staff_bp)
    _start_notifier(app)
    return app
