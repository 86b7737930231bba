"""Staff accounts: argon2-hashed passwords, roles, login throttling, sessions, the audit log.

Failed logins never lock an account: anyone can type a name, so a lock-out would let a
stranger keep every receptionist out. They are counted per name and client address, and per
client address across names; past a few free failures each further one makes that pair (or
that address) wait longer, doubling up to a cap. Someone else's guesses from elsewhere never
make a receptionist wait. Unknown names are counted and answered exactly like wrong passwords.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.storage.database import (
    AuditEvent,
    LoginFailure,
    StaffAccount,
    aware,
    new_session_version,
    now,
)

ROLES = ("staff", "admin")  # admin may also manage accounts and reload the rules
MIN_PASSWORD_LENGTH = 12
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
# Failures in a row (one name from one address; one address across names) before any waiting.
FREE_FAILURES_PER_NAME = 3
FREE_FAILURES_PER_ADDRESS = 10
FIRST_DELAY = timedelta(seconds=1)  # then 2, 4, 8 s ... for each further failure
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)  # failures older than this no longer count
ANY_NAME = "*"  # the row that counts an address's failures over every name
INVALID_NAME = ""  # the row for names no account can have (too long, other characters)
MAX_ADDRESS_LENGTH = 64  # an IPv6 address with a zone fits


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class Login:
    """The outcome of a login: the account's name and role when it succeeded, else why not."""

    outcome: str  # ok, wrong or throttled (an unknown name is "wrong", never told apart)
    username: str | None = None
    role: str | None = None
    session_version: str | None = None
    retry_after: int = 0  # seconds until this name may be tried again from this address


def delay_after(failures: int, free: int) -> timedelta:
    """How long to wait after `failures` in a row when the first `free` cost nothing."""
    if failures <= free:
        return timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures - free - 1, 20))


def _seconds(span: timedelta) -> int:
    return max(1, -int(-span.total_seconds() // 1))  # rounded up: never "try again in 0 s"


@dataclass(frozen=True)
class StaffMember:
    """An account as a staff request sees it: its name, role and current session version."""

    username: str
    role: str
    session_version: str


def well_formed_username(username: str) -> bool:
    """Whether an account could have this name (1 to 64 of the allowed characters)."""
    return 0 < len(username) <= 64 and set(username) <= USERNAME_CHARS


# The hash of a random password nobody knows (argon2-cffi's default parameters).
DECOY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$" + (
    "5a9VPJoGk1l5CFk17zDa0Q$yW2ArU7dyA/l2wvQdRoVVS+fCVEIU8aTAhgtisMX+pY"
)


class Accounts:
    """The staff accounts and audit log in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hasher = PasswordHasher()
        # Verified against when a name is unknown, so that a wrong name takes as long as a
        # wrong password and does not tell which names exist. Hashing one at every start costs
        # each worker (and each test's app) a whole hash; the stored one serves while its
        # parameters are the hasher's, which is what makes the two checks take as long.
        self._decoy = (
            self.hasher.hash("a decoy password nobody has")
            if self.hasher.check_needs_rehash(DECOY_HASH)
            else DECOY_HASH
        )

    def _check_new(self, username: str, password: str, role: str) -> None:
        if not well_formed_username(username):
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
            session.execute(delete(LoginFailure).where(LoginFailure.username == username))
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

    def unlock(self, username: str, actor: str, address: str | None = None) -> None:
        """Forget the failed logins of a name (from one address, or from all) and its waiting."""
        with Session(self.engine) as session, session.begin():
            forgotten = delete(LoginFailure).where(LoginFailure.username == username)
            if address is not None:
                forgotten = forgotten.where(LoginFailure.address == address)
            cleared = session.execute(forgotten).rowcount  # type: ignore[attr-defined]
            if not cleared and username not in (ANY_NAME, INVALID_NAME):
                self._get(session, username)  # an unknown name is an error, as before
            detail = {"address": address} if address is not None else None
            self._record(session, actor, "login.unlocked", username, detail)

    def failed_logins(self, at: datetime | None = None) -> list[dict[str, Any]]:
        """Every name and address with failed logins in a row, the newest first, and its wait."""
        moment = at or now()
        with Session(self.engine) as session:
            rows = session.scalars(
                select(LoginFailure)
                .where(LoginFailure.last_at > moment - FORGET_AFTER)
                .order_by(LoginFailure.last_at.desc(), LoginFailure.id)
            )
            return [
                {
                    "username": r.username,
                    "address": r.address,
                    "failures": r.failures,
                    "last_at": aware(r.last_at),
                    "blocked_until": blocked
                    if (blocked := aware(r.blocked_until)) and blocked > moment
                    else None,
                }
                for r in rows
            ]

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
        """Every account: name and role (never the hash)."""
        with Session(self.engine) as session:
            accounts = session.scalars(select(StaffAccount).order_by(StaffAccount.username))
            return [{"username": a.username, "role": a.role} for a in accounts]

    def exist(self) -> bool:
        """Whether any account has been created yet."""
        with Session(self.engine) as session:
            return session.scalar(select(StaffAccount.id).limit(1)) is not None

    def login(
        self, username: str, password: str, address: str = "-", at: datetime | None = None
    ) -> Login:
        """Check a login from a client address; slow down repeated failures, never lock out."""
        moment = at or now()
        name = username if well_formed_username(username) else INVALID_NAME
        address = address[:MAX_ADDRESS_LENGTH]
        waiting = self._waiting(name, address, moment)
        if waiting:
            # Refused before the password is looked at: a right guess here would tell nothing.
            self.record("-", "login.throttled", None, {"address": address})
            return Login("throttled", retry_after=_seconds(waiting))
        with Session(self.engine) as session:
            stored_hash = session.scalar(
                select(StaffAccount.password_hash).where(StaffAccount.username == name)
            )
        # The slow hash is checked outside any transaction: a login holds no lock while it runs.
        # An unknown name is checked against a decoy, so that it takes as long as a known one.
        matches = self._verify(stored_hash or self._decoy, password)
        tries_left = 3
        while True:
            tries_left -= 1
            try:
                return self._settle(name, address, password, matches, stored_hash, moment)
            except IntegrityError:
                # Another worker counted this name's or address's first failure at the same
                # instant (both inserted the row): count again, on the row it made.
                if not tries_left:
                    raise

    def _settle(
        self,
        name: str,
        address: str,
        password: str,
        matches: bool,
        stored_hash: str | None,
        moment: datetime,
    ) -> Login:
        with Session(self.engine) as session, session.begin():
            account = session.scalar(
                select(StaffAccount).where(StaffAccount.username == name).with_for_update()
            )
            if account is None or not matches or account.password_hash != stored_hash:
                blocked = [
                    self._count_failure(session, name, address, FREE_FAILURES_PER_NAME, moment),
                    self._count_failure(
                        session, ANY_NAME, address, FREE_FAILURES_PER_ADDRESS, moment
                    ),
                ]
                detail = {"address": address, **({} if account else {"reason": "unknown name"})}
                actor, subject = (name, name) if account else ("-", None)
                self._record(session, actor, "login.failed", subject, detail)
                wait = max(blocked)
                return Login("wrong", retry_after=_seconds(wait) if wait else 0)
            # Both counts start again: a receptionist's typos, added up over a day at an office
            # whose staff share one address, never make the whole office wait.
            session.execute(
                delete(LoginFailure).where(
                    LoginFailure.username.in_([name, ANY_NAME]), LoginFailure.address == address
                )
            )
            if self.hasher.check_needs_rehash(account.password_hash):
                account.password_hash = self.hasher.hash(password)
            self._record(session, name, "login", name, {"address": address})
            return Login(
                "ok",
                username=name,
                role=account.role,
                session_version=account.session_version,
            )

    def _waiting(self, name: str, address: str, moment: datetime) -> timedelta:
        with Session(self.engine) as session:
            until = session.scalars(
                select(LoginFailure.blocked_until).where(
                    LoginFailure.address == address,
                    LoginFailure.username.in_([name, ANY_NAME]),
                )
            ).all()
        latest = max((u.replace(tzinfo=u.tzinfo or UTC) for u in until if u), default=moment)
        return max(latest - moment, timedelta(0))

    @staticmethod
    def _count_failure(
        session: Session, name: str, address: str, free: int, moment: datetime
    ) -> timedelta:
        # One more failure in a row, counted in the same transaction as the check (under the
        # row lock, or SQLite's write lock), so that guesses sent in parallel all count.
        row = session.scalar(
            select(LoginFailure)
            .where(LoginFailure.username == name, LoginFailure.address == address)
            .with_for_update()
        )
        if row is None:
            row = LoginFailure(username=name, address=address, failures=0, last_at=moment)
            session.add(row)
        elif row.last_at.replace(tzinfo=row.last_at.tzinfo or UTC) <= moment - FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_at = moment
        wait = delay_after(row.failures, free)
        row.blocked_until = moment + wait if wait else None
        session.flush()
        return wait

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
                    "at": aware(e.at),
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "detail": json.loads(e.detail) if e.detail else None,
                }
                for e in events
            ]
