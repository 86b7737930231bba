"""The database: staff accounts, the audit log, referrals and their outbox (SQLite by default).

Tables are created and changed only by Alembic migrations (matcher/storage/migrations), run at
start.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

from matcher.private_files import create_private, open_private, private_folder

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
@overload
def aware(moment: datetime | None) -> datetime | None: ...
def aware(moment: datetime | None) -> datetime | None:
    """A moment read back from the database, in UTC: SQLite hands back naive datetimes."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def default_database_url(state_dir: str | Path) -> str:
    """The SQLite file used when no DATABASE_URL is configured."""
    return f"sqlite:///{Path(state_dir).resolve() / 'matcher.db'}"


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def new_session_version() -> str:
    """A fresh, unguessable session version (random, so a re-added account never reuses one)."""
    return secrets.token_hex(16)


class Base(DeclarativeBase):
    """The tables' common base."""


class StaffAccount(Base):
    """A person who may use the staff console."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Every staff session carries it; a new one (logout, new password or role) ends them all.
    session_version: Mapped[str] = mapped_column(
        String(32), nullable=False, default=new_session_version
    )


class LoginFailure(Base):
    """Failed logins in a row for one name from one client address (or, as "*", any name)."""

    __tablename__ = "login_failures"
    __table_args__ = (
        UniqueConstraint("username", "address", name="login_failures_username_address"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """Who did what, when: every staff action that touches a person's data, and account changes."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)


class Referral(Base):
    """An intake kept so that a person from the clinic gets in touch."""

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False)
    consent: Mapped[bool] = mapped_column(Boolean, nullable=False)
    intake: Mapped[str | None] = mapped_column(Text)  # JSON; None without consent
    screening: Mapped[str | None] = mapped_column(Text)  # JSON totals and bands
    matches: Mapped[str | None] = mapped_column(Text)  # JSON ids and scores offered
    rules_version: Mapped[str] = mapped_column(String(32), nullable=False)
    contact: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # sha256 of the request the key came with: a replay must carry the same request.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Optimistic locking by SQLAlchemy: every UPDATE says WHERE version = the version read and
    # raises StaleDataError when another change got there first (on any database).
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    therapist_id: Mapped[str | None] = mapped_column(String(40))
    close_reason: Mapped[str | None] = mapped_column(String(200))
    # Urgent referrals only: acknowledge by this time, or the escalation address is told.
    ack_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Keyed hashes (never the values) that group a flood of near-identical urgent referrals
    # from one client address; group_of is the first referral of the group (None for it).
    source_hash: Mapped[str | None] = mapped_column(String(64))
    contact_hash: Mapped[str | None] = mapped_column(String(64))
    intake_hash: Mapped[str | None] = mapped_column(String(64))
    group_of: Mapped[str | None] = mapped_column(String(32))
    # The therapist the person asked the clinic about, the staff member who took a phone call,
    # the consent in the caller's words, and who works the referral now.
    asked_about: Mapped[str | None] = mapped_column(String(40))
    taken_by: Mapped[str | None] = mapped_column(String(64))
    consent_words: Mapped[str | None] = mapped_column(String(200))
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    # The intake had a care route (rules/care_routes.yaml): a clinician reviews it before any
    # booking. care_route is the route's level, kept only with consent.
    needs_review: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    care_route: Mapped[str | None] = mapped_column(String(32))
    # The language the person used (en, es, ar...): staff answer them in it (migration 0008).
    language: Mapped[str | None] = mapped_column(String(16))

    __mapper_args__ = {"version_id_col": version}


class ReferralNote(Base):
    """A note on a referral ("rang, no answer"), with who wrote it and when."""

    __tablename__ = "referral_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    by: Mapped[str] = mapped_column(String(64), nullable=False)
    text: Mapped[str] = mapped_column(String(1000), nullable=False)
    # Set when its author corrected it; the text before is in the audit log (NOTE_CORRECTED).
    corrected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Draft(Base):
    """Answers between the steps of a form, tied to one browser session; never in a URL."""

    __tablename__ = "drafts"

    # A keyed hash of the session's draft token: the token itself is only in the cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )
    answers: Mapped[str] = mapped_column(Text, nullable=False)  # JSON [[name, value], ...]


class Notification(Base):
    """The outbox: one message to the clinic about an urgent referral, kept until it is sent.

    Written in the same transaction as what it is about, so a committed urgent referral always
    has its notifications; senders claim a row (claimed_by, until claimed_until) before sending.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))  # never personal data
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _create_private_sqlite(url: str) -> None:
    # Created 0600 before SQLite opens it (SQLite would make it 0644): the journal files SQLite
    # creates beside it take the database file's mode.
    database = Path(url.removeprefix("sqlite:///"))
    with contextlib.suppress(OSError):  # SQLite itself says what is wrong with the path
        private_folder(database.parent)
        if database.name and database.name != ":memory:":
            create_private(database)


def make_engine(url: str) -> Engine:
    """An engine for `url`.

    SQLite files get foreign keys, a busy timeout for many workers, and transactions that take
    the write lock when they begin (BEGIN IMMEDIATE). SQLite has no SELECT ... FOR UPDATE and
    Python's driver starts a transaction only at the first write, so a read-then-write (a
    failed-login count, a referral's status) could otherwise interleave with another worker's
    and lose its change; this way one waits for the other, as FOR UPDATE makes PostgreSQL do.
    """
    if url.startswith("sqlite:///"):
        _create_private_sqlite(url)
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _on_connect(connection, _record) -> None:  # type: ignore[no-untyped-def]
            connection.isolation_level = None  # the driver's own BEGIN handling off
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, connect_args=_server_timeouts(url))


# A database that accepts connections but does not answer must not hold a request (or a worker
# starting up) past gunicorn's 30 s timeout: fail within seconds and answer 503 instead.
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 15_000


def _server_timeouts(url: str) -> dict[str, Any]:
    if not url.startswith("postgresql"):
        return {}
    return {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
    }


def describe(url: str) -> str:
    """The database a URL names, for messages: never its password or query, whatever the URL.

    An unencoded "@" in a password parses as part of the host, so such URLs show no address.
    """
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return f"sqlite:///{parsed.database or ''}"
    if _password_may_show(url):
        return (
            f"{parsed.drivername}://(address not shown: more than one '@'; write an '@' in the "
            "password as %40)"
        )
    port = f":{parsed.port}" if parsed.port else ""
    user = f"{parsed.username}@" if parsed.username else ""
    return f"{parsed.drivername}://{user}{parsed.host or ''}{port}/{parsed.database or ''}"


def _password_may_show(url: str) -> bool:
    return url.count("@") > 1


def unreachable(url: str, exc: OperationalError) -> str:
    """Say which database could not be reached (never its password) and why, on one line."""
    reason = str(exc.orig or exc).strip().splitlines()[0]
    if _password_may_show(url):
        # The driver's message would name the "host", which holds the end of the password.
        reason = "its address could not be used"
    return f"cannot reach the database {describe(url)}: {reason}"


SUPPORTED_URLS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"


def unusable(url: str, exc: Exception) -> str:
    """Say why a database URL cannot be used at all (never echoing its password), on one line."""
    try:
        shown = describe(url)
    except (ArgumentError, ValueError):
        return f"not a database URL; expected {SUPPORTED_URLS}"
    reason = str(exc).strip().splitlines()[0]
    return f"cannot use {shown} ({reason}); expected {SUPPORTED_URLS}"


# Any fixed number: the PostgreSQL advisory lock that one migrating instance holds.
MIGRATION_LOCK_ID = 0x6D61746368


def migrate(url: str, lock_dir: Path) -> None:
    """Bring the database to the newest migration, one process at a time.

    On PostgreSQL the lock is the database's own (an advisory lock), so instances on several
    hosts may start together; an SQLite file is locked beside itself; anything else in lock_dir.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if url.startswith("sqlite:///"):
        _create_private_sqlite(url)
    engine = create_engine(url, poolclass=NullPool, connect_args=_server_timeouts(url))
    try:
        with _file_lock(_lock_file(url, lock_dir)), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_ID)))
            if MigrationContext.configure(connection).get_current_revision() == _head():
                return  # a restart: nothing to run, and alembic's environment stays unloaded
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


@functools.cache
def _head() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def sqlite_files(url: str) -> list[Path]:
    """The files an SQLite database URL keeps: the database, its journals and its lock."""
    if not url.startswith("sqlite:///"):
        return []
    database = Path(url.removeprefix("sqlite:///"))
    if not database.name or database.name == ":memory:":
        return []
    suffixes = ("", "-journal", "-wal", "-shm", ".migrate.lock")
    return [database.with_name(database.name + suffix) for suffix in suffixes]


def _lock_file(url: str, lock_dir: Path) -> Path | None:
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        return database.with_name(database.name + ".migrate.lock")
    if url.startswith("postgresql"):
        return None
    return lock_dir / "migrate.lock"


@contextlib.contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = os.fdopen(open_private(path), "w")  # held until the migration is done
    except OSError:
        yield  # the database itself will say what is wrong with its folder
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
