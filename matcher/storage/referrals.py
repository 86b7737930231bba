"""Referrals: store an intake, what was offered and how to reach the person, exactly once."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, case, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from matcher.notifications import URGENT_REFERRAL, NotifySettings, ack_deadline, keyed_hash
from matcher.storage.database import AuditEvent, Referral, ReferralNote, aware, now
from matcher.storage.outbox import add_notifications

# The logger name operators filter on, kept when the module moved.
log = logging.getLogger("matcher.referrals")

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


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def request_hash(payload: Any) -> str:
    """The hash that tells a retry of a request (same body) from another one under its key."""
    return hashlib.sha256(_dumps(payload).encode()).hexdigest()


PER_PAGE = 50
MAX_NOTE_LENGTH = 1000
# The audit action of a corrected note; its detail keeps the text before the correction.
NOTE_CORRECTED = "referral.note_corrected"


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue (flood groups as one row each) and the urgent counts of the whole."""

    rows: list[dict[str, Any]]
    page: int
    pages: int
    total: int
    urgent_waiting: int
    overdue: int


def _overdue(referral: Any, at: datetime) -> ColumnElement[bool]:
    # Urgent, nobody has acknowledged it, and its deadline has passed.
    return and_(
        referral.urgent.is_(True),
        referral.acknowledged_at.is_(None),
        referral.ack_deadline.is_not(None),
        referral.ack_deadline <= at,
    )


def _contact_key(contact: dict[str, Any]) -> str | None:
    email = str(contact.get("email") or "").strip().lower()
    phone = "".join(c for c in str(contact.get("phone") or "") if c.isdigit())
    return f"{email}|{phone}" if email or phone else None


def _note_text(text: str) -> str:
    """A note's text as kept: trimmed, not empty, at most MAX_NOTE_LENGTH characters."""
    cleaned = text.strip()
    if not cleaned:
        raise ReferralError("write the note first")
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise ReferralError(f"a note is at most {MAX_NOTE_LENGTH} characters")
    return cleaned


class Referrals:
    """The referral queue's storage, and its notification outbox's producer."""

    def __init__(
        self,
        engine: Engine,
        settings: NotifySettings | None = None,
        secret: str = "",
        on_urgent: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        # Which channels a new urgent referral notifies, its deadline, and flood grouping.
        self.settings = settings or NotifySettings()
        # Keys the hashes of client addresses, contacts and intakes used to group floods.
        self.secret = secret
        # Called after an urgent referral is committed (wakes this process's sender).
        self.on_urgent = on_urgent

    def store(
        self,
        intake: dict[str, Any] | None,
        result: dict[str, Any],
        contact: dict[str, Any],
        consent: bool,
        idempotency_key: str | None,
        request_hash: str | None = None,
        *,
        source: str | None = None,
        asked_about: str | None = None,
        taken_by: str | None = None,
        consent_words: str | None = None,
        language: str | None = None,
    ) -> Stored:
        """Commit one referral and return it; a repeated idempotency key returns the first one.

        `asked_about` names the therapist the person asked about; `taken_by` and
        `consent_words` record a phone call: who took it, and the consent as the caller said it.

        Returns only after the transaction has committed. Without consent only what safety
        follow-up needs is kept: the contact, the urgent flag and the screening results. A new
        urgent referral commits its notifications with it, one per configured channel, unless
        it joins a flood group (near-identical urgent referrals from the same `source`, the
        client address, within URGENT_GROUP_MINUTES), whose first referral has notified.
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
        route = (result.get("care_route") or {}).get("level", "self_match")
        created_at = now()
        referral = Referral(
            id=referral_id,
            created_at=created_at,
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
            asked_about=asked_about,
            taken_by=taken_by,
            consent_words=consent_words,
            needs_review=route != "self_match",
            care_route=route if consent else None,
            language=language,
        )
        if urgent:
            referral.ack_deadline = ack_deadline(created_at, self.settings.ack_minutes)
            self._fingerprint(referral, intake, contact, source)
        try:
            with Session(self.engine) as session, session.begin():
                if urgent:
                    referral.group_of = self._group_lead(session, referral)
                session.add(referral)
                session.flush()  # the referral row first: notifications refer to it
                if urgent and referral.group_of is None:
                    add_notifications(
                        session, referral_id, URGENT_REFERRAL, self.settings.channels, created_at
                    )
        except IntegrityError:
            # The same key, committed by a concurrent request an instant earlier.
            found = self._by_key(idempotency_key, request_hash) if idempotency_key else None
            if found is None:
                raise
            return found
        if urgent and self.on_urgent is not None:
            try:
                self.on_urgent()
            except Exception as exc:  # noqa: BLE001 - the referral is committed: never fail it
                log.error(json.dumps({"event": "notify.wake_failed", "error": type(exc).__name__}))
        return Stored(referral_id, urgent, created=True)

    def _fingerprint(
        self,
        referral: Referral,
        intake: dict[str, Any] | None,
        contact: dict[str, Any],
        source: str | None,
    ) -> None:
        # Keyed hashes only: comparable between requests, never the address or answers.
        if source:
            referral.source_hash = keyed_hash(self.secret, "source", source)
        contact_key = _contact_key(contact)
        if contact_key:
            referral.contact_hash = keyed_hash(self.secret, "contact", contact_key)
        if intake is not None:
            referral.intake_hash = keyed_hash(self.secret, "intake", _dumps(intake))

    def _group_lead(self, session: Session, referral: Referral) -> str | None:
        # The first referral of a group from the same source with the same contact or intake,
        # started within the window: a flood is one row (and one notification) per window.
        minutes = self.settings.group_minutes
        if not referral.source_hash or not minutes:
            return None
        similar = [
            column == value
            for column, value in (
                (Referral.contact_hash, referral.contact_hash),
                (Referral.intake_hash, referral.intake_hash),
            )
            if value
        ]
        if not similar:
            return None
        lead = session.scalar(
            select(Referral.id)
            .where(
                Referral.urgent.is_(True),
                Referral.group_of.is_(None),
                Referral.source_hash == referral.source_hash,
                Referral.created_at >= referral.created_at - timedelta(minutes=minutes),
                or_(*similar),
            )
            .order_by(Referral.created_at.desc(), Referral.id)
            .limit(1)
        )
        return lead

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
                "created_at": aware(found.created_at),
                "version": found.version,
                "acknowledged_by": found.acknowledged_by,
                "acknowledged_at": aware(found.acknowledged_at),
                "changed_by": found.changed_by,
                "changed_at": aware(found.changed_at),
                "therapist_id": found.therapist_id,
                "close_reason": found.close_reason,
                "status": found.status,
                "urgent": found.urgent,
                "needs_review": found.needs_review,
                "care_route": found.care_route,
                "consent": found.consent,
                "intake": json.loads(found.intake) if found.intake else None,
                "screening": json.loads(found.screening) if found.screening else None,
                "matches": json.loads(found.matches) if found.matches else None,
                "rules_version": found.rules_version,
                "language": found.language,
                "contact": json.loads(found.contact),
                "ack_deadline": aware(found.ack_deadline),
                "escalated_at": aware(found.escalated_at),
                "overdue": bool(
                    found.urgent
                    and found.acknowledged_at is None
                    and found.ack_deadline is not None
                    and aware(found.ack_deadline) <= now()
                ),
                "group_of": found.group_of,
                "asked_about": found.asked_about,
                "taken_by": found.taken_by,
                "consent_words": found.consent_words,
                "assigned_to": found.assigned_to,
                "notes": [
                    {
                        "id": n.id,
                        "at": aware(n.at),
                        "by": n.by,
                        "text": n.text,
                        "corrected_at": aware(n.corrected_at),
                    }
                    for n in session.scalars(
                        select(ReferralNote)
                        .where(ReferralNote.referral_id == found.id)
                        .order_by(ReferralNote.at, ReferralNote.id)
                    )
                ],
                "similar": int(
                    session.scalar(
                        select(func.count())
                        .select_from(Referral)
                        .where(Referral.group_of == (found.group_of or found.id))
                    )
                    or 0
                ),
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
        self,
        status: str | None = None,
        therapist: str | None = None,
        needs_review: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Every referral to work, ungrouped: overdue urgent first, then urgent, then to review,
        then oldest."""
        overdue_flag = case((_overdue(Referral, now()), 1), else_=0)
        query = select(Referral, overdue_flag)
        if status:
            query = query.where(Referral.status == status)
        if therapist:
            query = query.where(Referral.therapist_id == therapist)
        if needs_review is not None:
            query = query.where(Referral.needs_review.is_(needs_review))
        query = query.order_by(
            overdue_flag.desc(),
            Referral.urgent.desc(),
            Referral.needs_review.desc(),
            Referral.created_at,
            Referral.id,
        )
        with Session(self.engine) as session:
            return [_row(r, bool(flag), 0) for r, flag in session.execute(query)]

    def queue_page(
        self,
        status: str | None = None,
        therapist: str | None = None,
        page: int = 1,
        per_page: int = PER_PAGE,
        group: str | None = None,
        at: datetime | None = None,
        search: str | None = None,
        needs_review: bool | None = None,
    ) -> QueuePage:
        """A page of the queue: overdue urgent first, then urgent, then oldest.

        A flood group is one row (its first referral, with `similar`: how many more); `group`
        lists one group's referrals instead. `search` finds a name, e-mail, phone or reference
        (every referral found is listed, grouped or not). The urgent counts cover the whole queue.
        """
        at = at or now()
        member, leader = aliased(Referral), aliased(Referral)

        def matching(referral: Any) -> list[ColumnElement[bool]]:
            conditions: list[ColumnElement[bool]] = []
            if status:
                conditions.append(referral.status == status)
            if therapist:
                conditions.append(referral.therapist_id == therapist)
            if needs_review is not None:
                conditions.append(referral.needs_review.is_(needs_review))
            return conditions

        if search:
            where = [_found_by(Referral, search), *matching(Referral)]
            overdue = _overdue(Referral, at)
        elif group:
            where = [or_(Referral.id == group, Referral.group_of == group), *matching(Referral)]
            overdue = _overdue(Referral, at)
        else:
            # A referral is shown unless it belongs to a group whose first referral is shown;
            # a group is overdue when any of its (shown) referrals is.
            under_leader = exists().where(leader.id == Referral.group_of, *matching(leader))
            where = [~under_leader, *matching(Referral)]
            overdue = or_(
                _overdue(Referral, at),
                exists().where(
                    member.group_of == Referral.id, _overdue(member, at), *matching(member)
                ),
            )
        overdue_flag = case((overdue, 1), else_=0)
        with Session(self.engine) as session:
            total = int(
                session.scalar(select(func.count()).select_from(Referral).where(*where)) or 0
            )
            pages = max(1, math.ceil(total / per_page))
            page = min(page, pages)  # past the end (the queue shrank): its last page
            rows = session.execute(
                select(Referral, overdue_flag)
                .where(*where)
                .order_by(
                    overdue_flag.desc(),
                    Referral.urgent.desc(),
                    Referral.needs_review.desc(),
                    Referral.created_at,
                    Referral.id,
                )
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
            similar: dict[str, int] = {}
            if rows and not group and not search:
                counted = session.execute(
                    select(member.group_of, func.count())
                    .where(member.group_of.in_([r.id for r, _ in rows]), *matching(member))
                    .group_by(member.group_of)
                )
                similar = {str(lead): int(count) for lead, count in counted}
            urgent_waiting, overdue_count = session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((_overdue(Referral, at), 1), else_=0)), 0),
                ).where(Referral.urgent.is_(True), Referral.acknowledged_at.is_(None))
            ).one()
            return QueuePage(
                rows=[_row(r, bool(flag), similar.get(r.id, 0)) for r, flag in rows],
                page=page,
                pages=pages,
                total=total,
                urgent_waiting=int(urgent_waiting),
                overdue=int(overdue_count),
            )

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

    def add_note(self, referral_id: str, actor: str, text: str) -> None:
        """Keep a note on a referral ("rang, no answer") with who wrote it and when."""
        cleaned = _note_text(text)
        with Session(self.engine) as session, session.begin():
            if session.get(Referral, referral_id) is None:
                raise ReferralError(f"there is no referral {referral_id!r}")
            moment = now()
            session.add(ReferralNote(referral_id=referral_id, at=moment, by=actor, text=cleaned))
            session.add(
                AuditEvent(at=moment, actor=actor, action="referral.noted", subject=referral_id)
            )

    def correct_note(self, referral_id: str, note_id: int, actor: str, text: str) -> None:
        """Replace a note's text, by its author only; when it was written stays, when it was
        corrected is kept beside it, and the text before goes to the audit log."""
        cleaned = _note_text(text)
        with Session(self.engine) as session, session.begin():
            note = session.get(ReferralNote, note_id)
            if note is None or note.referral_id != referral_id:
                raise ReferralError(f"there is no note {note_id} on this referral")
            if note.by != actor:
                raise ReferralError(f"only {note.by}, who wrote the note, can correct it")
            if note.text == cleaned:
                return
            moment = now()
            detail = json.dumps({"note": note.id, "before": note.text})
            note.text, note.corrected_at = cleaned, moment
            session.add(
                AuditEvent(
                    at=moment,
                    actor=actor,
                    action=NOTE_CORRECTED,
                    subject=referral_id,
                    detail=detail,
                )
            )

    def _forget_corrected_notes(self, session: Session, referral_ids: list[str]) -> None:
        # The text a note had before its correction goes with the referral: only the events stay.
        if referral_ids:
            session.execute(
                update(AuditEvent)
                .where(AuditEvent.action == NOTE_CORRECTED, AuditEvent.subject.in_(referral_ids))
                .values(detail=None)
            )

    def assign(self, referral_id: str, actor: str, version: int) -> None:
        """Make `actor` the person who works this referral now."""
        with self._changing(referral_id, version) as (session, referral):
            referral.assigned_to = actor
            session.add(
                AuditEvent(at=now(), actor=actor, action="referral.assigned", subject=referral_id)
            )

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
                {"at": aware(e.at).isoformat(), "by": e.actor, "action": e.action} for e in history
            ]
        for name in ("created_at", "acknowledged_at", "changed_at", "ack_deadline", "escalated_at"):
            if referral[name] is not None:
                referral[name] = referral[name].isoformat()
        referral["notes"] = [
            {
                **n,
                "at": n["at"].isoformat(),
                "corrected_at": n["corrected_at"] and n["corrected_at"].isoformat(),
            }
            for n in referral["notes"]
        ]
        return referral

    def erase(self, referral_id: str, actor: str) -> bool:
        """Delete one person's referral (right to erasure); the audit log keeps only that it was."""
        with Session(self.engine) as session, session.begin():
            # Whatever its version: an erasure is not undone by a status change an instant earlier.
            erased = session.execute(delete(Referral).where(Referral.id == referral_id))
            if not erased.rowcount:  # type: ignore[attr-defined]
                return False
            self._forget_corrected_notes(session, [referral_id])
            session.add(
                AuditEvent(at=now(), actor=actor, action="referral.erased", subject=referral_id)
            )
            return True

    def purge_closed(self, older_than: timedelta, at: datetime | None = None) -> int:
        """Delete referrals closed longer ago than the retention period; return how many."""
        cutoff = (at or now()) - older_than
        with Session(self.engine) as session, session.begin():
            expired = Referral.status == "closed", Referral.changed_at < cutoff
            self._forget_corrected_notes(
                session, list(session.scalars(select(Referral.id).where(*expired)))
            )
            result = session.execute(delete(Referral).where(*expired))
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


def _row(referral: Referral, overdue: bool, similar: int) -> dict[str, Any]:
    return {
        "id": referral.id,
        "urgent": referral.urgent,
        "needs_review": referral.needs_review,
        "care_route": referral.care_route,
        "overdue": overdue,
        "status": referral.status,
        "created_at": aware(referral.created_at),
        "ack_deadline": aware(referral.ack_deadline),
        "acknowledged_by": referral.acknowledged_by,
        "therapist_id": referral.therapist_id,
        "name": json.loads(referral.contact).get("name"),
        "version": referral.version,
        "group_of": referral.group_of,
        "similar": similar,
        "assigned_to": referral.assigned_to,
        "asked_about": referral.asked_about,
        "reference": reference(referral.id),
        "language": referral.language,
    }


def reference(referral_id: str) -> str:
    """The reference a person is given and staff search by: 3F2A-9C1B (the id's first 8)."""
    head = referral_id[:8].upper()
    return f"{head[:4]}-{head[4:]}"


def _found_by(referral: Any, search: str) -> ColumnElement[bool]:
    """Referrals whose contact (name, e-mail, phone) or reference holds `search`."""
    wanted = search.strip().lower()
    as_reference = wanted.replace("-", "").replace(" ", "")
    # The contact is stored as JSON with non-ASCII letters escaped: search for both spellings.
    escaped = json.dumps(wanted)[1:-1]
    conditions = [
        func.lower(referral.contact).contains(spelling, autoescape=True)
        for spelling in {wanted, escaped}
    ]
    if as_reference and all(c in "0123456789abcdef" for c in as_reference):
        conditions.append(referral.id.startswith(as_reference, autoescape=True))
    return or_(*conditions)
