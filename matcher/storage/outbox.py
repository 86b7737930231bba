"""The notification outbox: rows written with the referral, claimed and sent by any instance.

Each sender claims one row at a time with a conditional UPDATE (only a row nobody holds, checked
by its rowcount; FOR UPDATE SKIP LOCKED as well on PostgreSQL), so two senders, in two workers
or on two hosts, never take the same row; the claim is a lease, so a sender that died mid-send
lets another take it over. A failed send is retried with backoff, forever; a sent row is kept.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from matcher.notifications import (
    CLAIM_LEASE,
    URGENT_OVERDUE,
    DeliveryFailed,
    Notice,
    NotifySettings,
    deliver,
    retry_delay,
)
from matcher.storage.database import Notification, Referral, aware, now

# The logger name operators filter on, kept when the module moved.
log = logging.getLogger("matcher.outbox")
# The tables themselves, for UPDATEs that must not go through the ORM's version check.
NOTIFICATIONS = cast(Table, Notification.__table__)
REFERRALS = cast(Table, Referral.__table__)


def add_notifications(
    session: Session, referral_id: str, kind: str, channels: tuple[str, ...], at: datetime
) -> None:
    """Put one notification per channel in the outbox, inside the caller's transaction."""
    for channel in channels:
        session.add(
            Notification(
                referral_id=referral_id,
                kind=kind,
                channel=channel,
                created_at=at,
                next_attempt_at=at,
                attempts=0,
            )
        )


@dataclass(frozen=True)
class Claimed:
    """A notification this sender holds: what to send, and how often it was tried before."""

    notice: Notice
    attempts: int


@dataclass(frozen=True)
class PassResult:
    """What one sender pass did."""

    sent: int
    failed: int
    escalated: int


def sender_name() -> str:
    """A name for this sender, unique across hosts, processes and threads (for claimed_by)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Outbox:
    """The outbox's storage: claims, outcomes, escalations and what the admin page shows."""

    def __init__(self, engine: Engine, settings: NotifySettings) -> None:
        self.engine = engine
        self.settings = settings

    def claim(
        self, sender: str, at: datetime, skip_channels: frozenset[str] = frozenset()
    ) -> Claimed | None:
        """Take the next due notification nobody holds, for CLAIM_LEASE; None when none is due.

        Never tried ones first, so a new urgent referral does not wait behind old failures.
        """
        free = or_(Notification.claimed_until.is_(None), Notification.claimed_until < at)
        due = (
            select(Notification.id)
            .where(Notification.sent_at.is_(None), Notification.next_attempt_at <= at, free)
            .order_by(Notification.attempts, Notification.next_attempt_at, Notification.id)
            .limit(10)
            .with_for_update(skip_locked=True)
        )
        if skip_channels:
            due = due.where(Notification.channel.not_in(sorted(skip_channels)))
        with Session(self.engine) as session, session.begin():
            for notification_id in session.scalars(due).all():
                taken = session.execute(
                    update(NOTIFICATIONS)
                    .where(
                        NOTIFICATIONS.c.id == notification_id,
                        NOTIFICATIONS.c.sent_at.is_(None),
                        or_(
                            NOTIFICATIONS.c.claimed_until.is_(None),
                            NOTIFICATIONS.c.claimed_until < at,
                        ),
                    )
                    .values(claimed_by=sender, claimed_until=at + CLAIM_LEASE)
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another sender took it an instant earlier
                row = session.execute(
                    select(Notification, Referral.created_at, Referral.ack_deadline)
                    .join(Referral, Referral.id == Notification.referral_id)
                    .where(Notification.id == notification_id)
                ).one()
                notification, created_at, deadline = row
                return Claimed(
                    Notice(
                        notification_id=notification.id,
                        kind=notification.kind,
                        channel=notification.channel,
                        referral_id=notification.referral_id,
                        created_at=aware(created_at) or at,
                        ack_deadline=aware(deadline),
                    ),
                    notification.attempts,
                )
        return None

    def _finish(self, notification_id: int, sender: str, **values: Any) -> bool:
        table = NOTIFICATIONS
        with Session(self.engine) as session, session.begin():
            done = session.execute(
                update(table)
                .where(table.c.id == notification_id, table.c.claimed_by == sender)
                .values(
                    attempts=table.c.attempts + 1, claimed_by=None, claimed_until=None, **values
                )
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def sent(self, claimed: Claimed, sender: str, at: datetime) -> None:
        """Record that a claimed notification went out."""
        if not self._finish(claimed.notice.notification_id, sender, sent_at=at, last_error=None):
            # Our lease ran out mid-send and another sender holds it: it may go twice, never zero.
            log.warning(
                json.dumps(
                    {"event": "notify.lease_lost", "notification": claimed.notice.notification_id}
                )
            )

    def failed(self, claimed: Claimed, sender: str, at: datetime, error: str) -> datetime:
        """Record a failed attempt and when to try again; return that time."""
        retry_at = at + retry_delay(claimed.attempts + 1)
        self._finish(
            claimed.notice.notification_id, sender, next_attempt_at=retry_at, last_error=error
        )
        return retry_at

    def escalate_overdue(self, at: datetime) -> int:
        """Enqueue urgent_overdue for urgent referrals unacknowledged past their deadline, once.

        One notification per flood group per pass; each referral is marked escalated in the same
        transaction, and only if nobody acknowledged or escalated it an instant earlier.
        """
        channels = self.settings.channels
        if not channels:
            return 0
        table = REFERRALS
        overdue = (
            select(Referral.id, Referral.group_of)
            .where(
                Referral.urgent.is_(True),
                Referral.acknowledged_at.is_(None),
                Referral.escalated_at.is_(None),
                Referral.ack_deadline <= at,
            )
            .order_by(Referral.created_at, Referral.id)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
        notified: set[str] = set()
        with Session(self.engine) as session, session.begin():
            for referral_id, group_of in session.execute(overdue).all():
                marked = session.execute(
                    update(table)
                    .where(
                        table.c.id == referral_id,
                        table.c.escalated_at.is_(None),
                        table.c.acknowledged_at.is_(None),
                    )
                    .values(escalated_at=at)
                )
                if marked.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                group = group_of or referral_id
                if group in notified:
                    continue
                notified.add(group)
                add_notifications(session, referral_id, URGENT_OVERDUE, channels, at)
        for _ in notified:
            log.warning(json.dumps({"event": "notify.urgent_overdue"}))
        return len(notified)

    def unsent(self, limit: int = 100) -> list[dict[str, Any]]:
        """Notifications not sent yet, oldest first, with their attempts and last error."""
        query = (
            select(Notification)
            .where(Notification.sent_at.is_(None))
            .order_by(Notification.created_at, Notification.id)
            .limit(limit)
        )
        with Session(self.engine) as session:
            return [
                {
                    "id": n.id,
                    "referral_id": n.referral_id,
                    "kind": n.kind,
                    "channel": n.channel,
                    "created_at": aware(n.created_at),
                    "next_attempt_at": aware(n.next_attempt_at),
                    "attempts": n.attempts,
                    "last_error": n.last_error,
                    "failing": n.attempts > 0,
                }
                for n in session.scalars(query)
            ]

    def counts(self) -> dict[str, int]:
        """How many notifications are sent, waiting, and failing (tried at least once)."""
        unsent = Notification.sent_at.is_(None)

        def how_many(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        with Session(self.engine) as session:
            sent, pending, failing = session.execute(
                select(
                    how_many(~unsent),
                    how_many(and_(unsent, Notification.attempts == 0)),
                    how_many(and_(unsent, Notification.attempts > 0)),
                )
            ).one()
        return {"sent": int(sent), "pending": int(pending), "failing": int(failing)}

    def of_referral(self, referral_id: str) -> list[dict[str, Any]]:
        """The notifications about one referral, in order (for tests and the admin)."""
        query = (
            select(Notification)
            .where(Notification.referral_id == referral_id)
            .order_by(Notification.id)
        )
        with Session(self.engine) as session:
            return [
                {
                    "kind": n.kind,
                    "channel": n.channel,
                    "attempts": n.attempts,
                    "sent_at": aware(n.sent_at),
                    "next_attempt_at": aware(n.next_attempt_at),
                    "last_error": n.last_error,
                }
                for n in session.scalars(query)
            ]


HOUSEKEEPING_EVERY = timedelta(hours=1)


class Notifier:
    """A sender: escalates overdue referrals and sends what is due, in passes or in a thread."""

    def __init__(
        self,
        outbox: Outbox,
        deliver_one: Callable[[Notice, NotifySettings], None] = deliver,
    ) -> None:
        self.outbox = outbox
        self.settings = outbox.settings
        self.name = sender_name()
        self._deliver = deliver_one
        # Work that is due now and then rather than at every pass (the retention purge), run
        # at most once every HOUSEKEEPING_EVERY by this sender; set by whoever builds it.
        self.housekeeping: Callable[[datetime], object] | None = None
        self._housekept_at: datetime | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> PassResult:
        """One pass: escalate what is overdue, then send every due notification once.

        `now` fixes the pass's clock (tests); otherwise each step reads the real time.
        """
        clock: Callable[[], datetime] = (lambda: now) if now is not None else _real_now
        self._housekeep(clock())
        escalated = self.outbox.escalate_overdue(clock())
        sent = failed = 0
        # A channel that failed once in this pass is left for the next one: its other
        # notifications would most likely wait out the same timeout, one after another.
        failing: set[str] = set()
        while (claimed := self.outbox.claim(self.name, clock(), frozenset(failing))) is not None:
            notice = claimed.notice
            try:
                self._deliver(notice, self.settings)
            except DeliveryFailed as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the notification
                error = f"unexpected {type(exc).__name__}"
            else:
                self.outbox.sent(claimed, self.name, clock())
                sent += 1
                log.info(json.dumps(_event("notify.sent", claimed)))
                continue
            retry_at = self.outbox.failed(claimed, self.name, clock(), error)
            failed += 1
            failing.add(notice.channel)
            log.error(
                json.dumps(
                    {
                        **_event("notify.failed", claimed),
                        "error": error,
                        "retry_at": retry_at.isoformat(),
                    }
                )
            )
        return PassResult(sent=sent, failed=failed, escalated=escalated)

    def _housekeep(self, at: datetime) -> None:
        if self.housekeeping is None:
            return
        if self._housekept_at is not None and at - self._housekept_at < HOUSEKEEPING_EVERY:
            return
        self._housekept_at = at
        try:
            self.housekeeping(at)
        except Exception as exc:  # noqa: BLE001 - sending matters more: log it, try next time
            log.error(json.dumps({"event": "housekeeping.failed", "error": type(exc).__name__}))

    def wake(self) -> None:
        """Run a pass now (an urgent referral was just committed)."""
        self._wake.set()

    def run_forever(self) -> None:
        """Pass after pass, every NOTIFY_INTERVAL seconds or at once when woken, until stopped."""
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - the database may be down: try again later
                log.error(json.dumps({"event": "notify.pass_failed", "error": type(exc).__name__}))
            self._wake.wait(self.settings.interval_s)
            self._wake.clear()

    def start(self) -> None:
        """Run the sender in a daemon thread of this process (one per gunicorn worker)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.run_forever, name="matcher-notify", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after its current pass."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def _real_now() -> datetime:
    return now()


def _event(name: str, claimed: Claimed) -> dict[str, Any]:
    notice = claimed.notice
    return {
        "event": name,
        "kind": notice.kind,
        "channel": notice.channel,
        "notification": notice.notification_id,
        "referral": notice.referral_id,
        "attempt": claimed.attempts + 1,
    }
