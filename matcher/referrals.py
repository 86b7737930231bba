"""Referrals: store an intake, what was offered and how to reach the person, exactly once."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from matcher.errors import IntakeError
from matcher.matching import Matcher
from matcher.schemas import ReferralRequestSchema, flatten_errors
from matcher.store import AuditEvent, Referral, now

log = logging.getLogger(__name__)

STATUSES = ("new", "contacted", "booked", "closed")
# Where each status may go next; closing is always possible, with a reason.
NEXT = {
    "new": {"contacted", "closed"},
    "contacted": {"booked", "closed"},
    "booked": {"closed"},
    "closed": set(),
}


CONFLICT = "someone else changed this referral since you opened it; nothing was changed"


class ReferralConflict(RuntimeError):
    """Someone else changed the referral since it was shown: the change was not applied."""


class ReferralError(ValueError):
    """A change that is not allowed (wrong next status, missing therapist or reason)."""


class ReferralNotSaved(RuntimeError):
    """The database failed, so nothing was stored; `result` is the person's match all the same."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        super().__init__("the referral could not be stored")


class KeyUsedElsewhere(RuntimeError):
    """Storage found the Idempotency-Key already used with a different request."""


class KeyReused(RuntimeError):
    """The Idempotency-Key was first used with another request: nothing of that one is shown.

    `stored` is the referral kept anyway under a new id when this request is urgent, else None.
    """

    def __init__(self, result: dict[str, Any], stored: Stored | None) -> None:
        self.result = result
        self.stored = stored
        super().__init__("the Idempotency-Key was used before with a different request")


@dataclass(frozen=True)
class Stored:
    """A stored referral: its id, whether it is urgent, and whether this request created it."""

    id: str
    urgent: bool
    created: bool


def _aware(moment: Any) -> Any:
    # SQLite hands back naive datetimes: they were stored in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Referrals:
    """The referral queue's storage."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def store(
        self,
        intake: dict[str, Any] | None,
        result: dict[str, Any],
        contact: dict[str, Any],
        consent: bool,
        idempotency_key: str | None,
        request_hash: str | None = None,
    ) -> Stored:
        """Commit one referral and return it; a repeated idempotency key returns the first one.

        Returns only after the transaction has committed. Without consent only what safety
        follow-up needs is kept: the contact, the urgent flag and the screening results.
        A key first used with another request (another `request_hash`) raises KeyUsedElsewhere.
        """
        if idempotency_key:
            found = self._by_key(idempotency_key, request_hash)
            if found is not None:
                return found
        offered = [
            {"therapist": m["therapist"]["id"], "score": m["score"]} for m in result["matches"]
        ]
        referral_id = uuid.uuid4().hex
        urgent = bool(result["safety"]["urgent"])
        referral = Referral(
            id=referral_id,
            created_at=now(),
            status="new",
            urgent=urgent,
            consent=consent,
            intake=_dumps(intake) if consent else None,
            screening=_dumps(result["screening"]),
            matches=_dumps(offered) if consent else None,
            rules_version=result["rules_version"],
            contact=_dumps(contact),
            idempotency_key=idempotency_key or None,
            request_hash=request_hash if idempotency_key else None,
        )
        try:
            with Session(self.engine) as session, session.begin():
                session.add(referral)
        except IntegrityError:
            # The same key, committed by a concurrent request an instant earlier.
            found = self._by_key(idempotency_key, request_hash) if idempotency_key else None
            if found is None:
                raise
            return found
        return Stored(referral_id, urgent, created=True)

    def _by_key(self, key: str, request_hash: str | None) -> Stored | None:
        with Session(self.engine) as session:
            found = session.scalar(select(Referral).where(Referral.idempotency_key == key))
            if found is None:
                return None
            # Rows from before keys were bound to their request (no hash) replay as they did.
            if found.request_hash is not None and found.request_hash != request_hash:
                raise KeyUsedElsewhere()
            return Stored(found.id, found.urgent, created=False)

    def get(self, referral_id: str) -> dict[str, Any] | None:
        """One referral as stored, or None."""
        with Session(self.engine) as session:
            found = session.get(Referral, referral_id)
            if found is None:
                return None
            return {
                "id": found.id,
                "created_at": _aware(found.created_at),
                "version": found.version,
                "acknowledged_by": found.acknowledged_by,
                "acknowledged_at": _aware(found.acknowledged_at),
                "changed_by": found.changed_by,
                "changed_at": _aware(found.changed_at),
                "therapist_id": found.therapist_id,
                "close_reason": found.close_reason,
                "status": found.status,
                "urgent": found.urgent,
                "consent": found.consent,
                "intake": json.loads(found.intake) if found.intake else None,
                "screening": json.loads(found.screening) if found.screening else None,
                "matches": json.loads(found.matches) if found.matches else None,
                "rules_version": found.rules_version,
                "contact": json.loads(found.contact),
            }

    def reachable(self) -> bool:
        """Whether the database answers now (for readiness checks)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def count(self) -> int:
        """How many referrals are stored."""
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(Referral)) or 0)

    def queue(
        self, status: str | None = None, therapist: str | None = None
    ) -> list[dict[str, Any]]:
        """Referrals to work: urgent first, then oldest first; filtered by status and therapist."""
        query = select(Referral)
        if status:
            query = query.where(Referral.status == status)
        if therapist:
            query = query.where(Referral.therapist_id == therapist)
        query = query.order_by(Referral.urgent.desc(), Referral.created_at, Referral.id)
        with Session(self.engine) as session:
            return [
                {
                    "id": r.id,
                    "urgent": r.urgent,
                    "status": r.status,
                    "created_at": _aware(r.created_at),
                    "acknowledged_by": r.acknowledged_by,
                    "therapist_id": r.therapist_id,
                    "name": json.loads(r.contact).get("name"),
                    "version": r.version,
                }
                for r in session.scalars(query)
            ]

    def acknowledge(self, referral_id: str, actor: str, version: int) -> None:
        """Record that a person has seen an urgent referral (needed before it moves on)."""
        with self._changing(referral_id, version) as (session, referral):
            if referral.acknowledged_by:
                # The first acknowledgement is the one that counts for the deadline: keep it.
                raise ReferralError(f"{referral.acknowledged_by} already acknowledged it")
            referral.acknowledged_by, referral.acknowledged_at = actor, now()
            session.add(
                AuditEvent(
                    at=now(), actor=actor, action="referral.acknowledged", subject=referral_id
                )
            )

    def change_status(
        self,
        referral_id: str,
        status: str,
        actor: str,
        version: int,
        therapist: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Move a referral on (contacted, booked with a therapist, closed with a reason)."""
        with self._changing(referral_id, version) as (session, referral):
            if status not in NEXT.get(referral.status, set()):
                raise ReferralError(f"a {referral.status} referral cannot become {status}")
            if referral.urgent and not referral.acknowledged_by:
                raise ReferralError("an urgent referral must be acknowledged first")
            if status == "booked" and not therapist:
                raise ReferralError("say which therapist it is booked with")
            if status == "closed" and not (reason or "").strip():
                raise ReferralError("say why it is closed")
            referral.status = status
            referral.therapist_id = therapist if status == "booked" else referral.therapist_id
            referral.close_reason = reason.strip() if status == "closed" and reason else None
            referral.changed_by, referral.changed_at = actor, now()
            session.add(
                AuditEvent(at=now(), actor=actor, action=f"referral.{status}", subject=referral_id)
            )

    @contextlib.contextmanager
    def _changing(self, referral_id: str, version: int) -> Iterator[tuple[Session, Referral]]:
        # One transaction on the referral as the staff member saw it (at `version`). The read
        # is locked where the database can (FOR UPDATE); the UPDATE itself is checked against
        # the version on every database, so a change racing this one is told, never lost.
        try:
            with Session(self.engine) as session, session.begin():
                referral = session.get(Referral, referral_id, with_for_update=True)
                if referral is None:
                    raise ReferralError(f"there is no referral {referral_id!r}")
                if referral.version != version:
                    raise ReferralConflict(CONFLICT)
                yield session, referral
        except StaleDataError:
            raise ReferralConflict(CONFLICT) from None

    def export(self, referral_id: str) -> dict[str, Any] | None:
        """Everything kept about one person's referral, with its history (right of access)."""
        referral = self.get(referral_id)
        if referral is None:
            return None
        with Session(self.engine) as session:
            history = session.scalars(
                select(AuditEvent).where(AuditEvent.subject == referral_id).order_by(AuditEvent.id)
            )
            referral["history"] = [
                {"at": _aware(e.at).isoformat(), "by": e.actor, "action": e.action} for e in history
            ]
        for name in ("created_at", "acknowledged_at", "changed_at"):
            if referral[name] is not None:
                referral[name] = referral[name].isoformat()
        return referral

    def erase(self, referral_id: str, actor: str) -> bool:
        """Delete one person's referral (right to erasure); the audit log keeps only that it was."""
        with Session(self.engine) as session, session.begin():
            # Whatever its version: an erasure is not undone by a status change an instant earlier.
            erased = session.execute(delete(Referral).where(Referral.id == referral_id))
            if not erased.rowcount:  # type: ignore[attr-defined]
                return False
            session.add(
                AuditEvent(at=now(), actor=actor, action="referral.erased", subject=referral_id)
            )
            return True

    def purge_closed(self, older_than: timedelta, at: datetime | None = None) -> int:
        """Delete referrals closed longer ago than the retention period; return how many."""
        cutoff = (at or now()) - older_than
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                delete(Referral).where(Referral.status == "closed", Referral.changed_at < cutoff)
            )
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            if count:
                session.add(
                    AuditEvent(
                        at=now(),
                        actor="retention",
                        action="referrals.purged",
                        detail=json.dumps({"count": count}),
                    )
                )
            return count


@dataclass(frozen=True)
class Submitted:
    """A referral request handled: what was stored, the match, and what to tell the person."""

    stored: Stored
    result: dict[str, Any]
    message: str


def scoped_key(idempotency_key: str | None, client: str) -> str | None:
    """The key as stored: bound to the client that sent it, so keys of two clients never meet."""
    if not idempotency_key:
        return None
    return hashlib.sha256(f"{client}\n{idempotency_key}".encode()).hexdigest()


def submit_referral(
    matcher: Matcher,
    referrals: Referrals,
    payload: Any,
    idempotency_key: str | None,
    client: str = "",
) -> Submitted:
    """Validate a referral request, match its intake and store it (once); IntakeError if bad.

    Without consent nothing is stored unless the intake is urgent (self-harm answers).
    ReferralNotSaved, carrying the match, if the database fails; KeyReused when the
    Idempotency-Key came first with another request (an urgent one is stored all the same).
    `client` scopes the key (the client's address): another client's key is another key.
    """
    try:
        body = ReferralRequestSchema().load(payload)
    except ValidationError as exc:
        raise IntakeError(flatten_errors(exc.messages)) from None
    try:
        result = matcher.match(body["intake"])
    except IntakeError as exc:
        raise IntakeError({f"intake.{path}": m for path, m in exc.errors.items()}) from None
    urgent = bool(result["safety"]["urgent"])
    if not body["consent"] and not urgent:
        raise IntakeError(
            {"consent": ["Needed to keep your request: without it nothing is stored."]}
        )
    request_hash = hashlib.sha256(_dumps(payload).encode()).hexdigest()
    keep = functools.partial(
        referrals.store, body["intake"], result, body["contact"], body["consent"]
    )
    try:
        try:
            stored = keep(scoped_key(idempotency_key, client), request_hash)
        except KeyUsedElsewhere:
            # Someone else's request came with this key first. Theirs is never shown; an
            # urgent person is still kept, under a new id, so that someone gets in touch.
            raise KeyReused(result, keep(None, request_hash) if urgent else None) from None
    except SQLAlchemyError as exc:
        # No personal data in the log: what failed, and whether someone needs following up.
        log.error(
            json.dumps(
                {"event": "referral.not_saved", "error": type(exc).__name__, "urgent": urgent}
            )
        )
        raise ReferralNotSaved(result) from exc
    if urgent:
        message = (
            "A person from the clinic will be in touch with you as soon as they can. "
            + result["safety"]["message"]
        )
    else:
        contact = body["contact"]
        how = contact.get("preferred") or ("email" if contact.get("email") else "phone")
        message = f"Thank you. Someone from the clinic will contact you by {how}."
    return Submitted(stored, result, message)
