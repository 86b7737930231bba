"""Staff accounts: argon2-hashed passwords, roles, lock-out after failed logins, the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from matcher.store import AuditEvent, StaffAccount, new_session_version, now

ROLES = ("staff", "admin")  # admin may also manage accounts and reload the rules
MIN_PASSWORD_LENGTH = 12
MAX_FAILED_LOGINS = 5
LOCK_OUT = timedelta(minutes=15)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class Login:
    """The outcome of a login: the account's name and role when it succeeded, else why not."""

    outcome: str  # ok, wrong or locked ("wrong" also for an unknown name, never told apart)
    username: str | None = None
    role: str | None = None
    locked_until: datetime | None = None
    session_version: str | None = None


@dataclass(frozen=True)
class StaffMember:
    """An account as a staff request sees it: its name, role and current session version."""

    username: str
    role: str
    session_version: str


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes: they were stored in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class Accounts:
    """The staff accounts and audit log in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hasher = PasswordHasher()
        # Verified against when a name is unknown, so that a wrong name takes as long as a
        # wrong password and does not tell which names exist.
        self._decoy = self.hasher.hash("a decoy password nobody has")

    def _check_new(self, username: str, password: str, role: str) -> None:
        if not username or len(username) > 64 or not set(username) <= USERNAME_CHARS:
            raise AccountError(
                "a username is 1 to 64 lowercase letters, digits, dots, dashes or underscores"
            )
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
        if role not in ROLES:
            raise AccountError(f"role must be one of: {', '.join(ROLES)}")

    def add(self, username: str, password: str, role: str, actor: str) -> None:
        """Create an account; raise AccountError if the name is taken or a value is not allowed."""
        self._check_new(username, password, role)
        with Session(self.engine) as session, session.begin():
            taken = session.scalar(select(StaffAccount).where(StaffAccount.username == username))
            if taken is not None:
                raise AccountError(f"there is already an account named {username!r}")
            session.add(
                StaffAccount(
                    username=username,
                    password_hash=self.hasher.hash(password),
                    role=role,
                    failed_logins=0,
                    created_at=now(),
                )
            )
            self._record(session, actor, "account.created", username, {"role": role})

    def set_password(self, username: str, password: str, actor: str) -> None:
        """Give an account a new password, lift any lock-out and end its sessions."""
        account_role = self.role_of(username)
        if account_role is None:
            raise AccountError(f"there is no account named {username!r}")
        self._check_new(username, password, account_role)
        with Session(self.engine) as session, session.begin():
            account = self._get(session, username)
            account.password_hash = self.hasher.hash(password)
            account.failed_logins, account.locked_until = 0, None
            account.session_version = new_session_version()
            self._record(session, actor, "account.password_set", username)

    def set_role(self, username: str, role: str, actor: str) -> None:
        """Give an account another role and end its sessions (they were opened with the old one)."""
        if role not in ROLES:
            raise AccountError(f"role must be one of: {', '.join(ROLES)}")
        with Session(self.engine) as session, session.begin():
            account = self._get(session, username)
            account.role = role
            account.session_version = new_session_version()
            self._record(session, actor, "account.role_set", username, {"role": role})

    def end_sessions(self, username: str, actor: str, action: str = "sessions.ended") -> None:
        """End every session of an account, on every instance (a logout ends them all)."""
        with Session(self.engine) as session, session.begin():
            account = self._get(session, username)
            account.session_version = new_session_version()
            self._record(session, actor, action, username)

    def member(self, username: str) -> StaffMember | None:
        """The account a session names, as it is now in the database, or None if it is gone."""
        with Session(self.engine) as session:
            found = session.execute(
                select(StaffAccount.role, StaffAccount.session_version).where(
                    StaffAccount.username == username
                )
            ).first()
        return None if found is None else StaffMember(username, found.role, found.session_version)

    def remove(self, username: str, actor: str) -> None:
        """Delete an account."""
        with Session(self.engine) as session, session.begin():
            session.delete(self._get(session, username))
            self._record(session, actor, "account.removed", username)

    def unlock(self, username: str, actor: str) -> None:
        """Lift a lock-out before it ends by itself."""
        with Session(self.engine) as session, session.begin():
            account = self._get(session, username)
            account.failed_logins, account.locked_until = 0, None
            self._record(session, actor, "account.unlocked", username)

    def _get(self, session: Session, username: str) -> StaffAccount:
        account = session.scalar(select(StaffAccount).where(StaffAccount.username == username))
        if account is None:
            raise AccountError(f"there is no account named {username!r}")
        return account

    def role_of(self, username: str) -> str | None:
        """An account's role, or None if there is no such account."""
        with Session(self.engine) as session:
            return session.scalar(
                select(StaffAccount.role).where(StaffAccount.username == username)
            )

    def all(self) -> list[dict[str, Any]]:
        """Every account: name, role, and lock-out state (never the hash)."""
        with Session(self.engine) as session:
            accounts = session.scalars(select(StaffAccount).order_by(StaffAccount.username))
            return [
                {
                    "username": a.username,
                    "role": a.role,
                    "failed_logins": a.failed_logins,
                    "locked_until": _aware(a.locked_until),
                }
                for a in accounts
            ]

    def exist(self) -> bool:
        """Whether any account has been created yet."""
        with Session(self.engine) as session:
            return session.scalar(select(StaffAccount.id).limit(1)) is not None

    def login(self, username: str, password: str, at: datetime | None = None) -> Login:
        """Check a login; count failures and lock the account out after too many in a row."""
        moment = at or now()
        with Session(self.engine) as session:
            stored_hash = session.scalar(
                select(StaffAccount.password_hash).where(StaffAccount.username == username)
            )
        # The slow hash is checked outside any transaction: a login holds no lock while it runs.
        matches = self._verify(stored_hash or self._decoy, password)
        with Session(self.engine) as session, session.begin():
            account = session.scalar(
                select(StaffAccount).where(StaffAccount.username == username).with_for_update()
            )
            if account is None:
                self._record(session, "-", "login.failed", None, {"reason": "unknown name"})
                return Login("wrong")
            locked_until = _aware(account.locked_until)
            if locked_until is not None and locked_until > moment:
                self._record(session, username, "login.refused", username, {"reason": "locked"})
                return Login("locked", locked_until=locked_until)
            if not matches or account.password_hash != stored_hash:
                # Counted under the row lock (FOR UPDATE, or SQLite's write lock), so guesses
                # sent in parallel are all counted.
                account.failed_logins += 1
                if account.failed_logins >= MAX_FAILED_LOGINS:
                    account.locked_until = moment + LOCK_OUT
                    account.failed_logins = 0
                    self._record(session, username, "account.locked", username)
                else:
                    self._record(session, username, "login.failed", username)
                return Login("wrong", locked_until=_aware(account.locked_until))
            account.failed_logins, account.locked_until = 0, None
            if self.hasher.check_needs_rehash(account.password_hash):
                account.password_hash = self.hasher.hash(password)
            self._record(session, username, "login", username)
            return Login(
                "ok",
                username=username,
                role=account.role,
                session_version=account.session_version,
            )

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def record(
        self,
        actor: str,
        action: str,
        subject: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Add one event to the audit log (never with intake content)."""
        with Session(self.engine) as session, session.begin():
            self._record(session, actor, action, subject, detail)

    @staticmethod
    def _record(
        session: Session,
        actor: str,
        action: str,
        subject: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            AuditEvent(
                at=now(),
                actor=actor,
                action=action,
                subject=subject,
                detail=json.dumps(detail, sort_keys=True) if detail else None,
            )
        )

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest audit events first."""
        with Session(self.engine) as session:
            events = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))
            return [
                {
                    "at": _aware(e.at),
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "detail": json.loads(e.detail) if e.detail else None,
                }
                for e in events
            ]
