"""Referrals: store an intake, what was offered and how to reach the person, exactly once."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.store import Referral, now


@dataclass(frozen=True)
class Stored:
    """A stored referral: its id, whether it is urgent, and whether this request created it."""

    id: str
    urgent: bool
    created: bool


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
    ) -> Stored:
        """Commit one referral and return it; a repeated idempotency key returns the first one.

        Returns only after the transaction has committed. Without consent only what safety
        follow-up needs is kept: the contact, the urgent flag and the screening results.
        """
        if idempotency_key:
            found = self._by_key(idempotency_key)
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
            version=1,
        )
        try:
            with Session(self.engine) as session, session.begin():
                session.add(referral)
        except IntegrityError:
            # The same key, committed by a concurrent request an instant earlier.
            found = self._by_key(idempotency_key) if idempotency_key else None
            if found is None:
                raise
            return found
        return Stored(referral_id, urgent, created=True)

    def _by_key(self, key: str) -> Stored | None:
        with Session(self.engine) as session:
            found = session.scalar(select(Referral).where(Referral.idempotency_key == key))
            return None if found is None else Stored(found.id, found.urgent, created=False)

    def get(self, referral_id: str) -> dict[str, Any] | None:
        """One referral as stored, or None."""
        with Session(self.engine) as session:
            found = session.get(Referral, referral_id)
            if found is None:
                return None
            return {
                "id": found.id,
                "status": found.status,
                "urgent": found.urgent,
                "consent": found.consent,
                "intake": json.loads(found.intake) if found.intake else None,
                "screening": json.loads(found.screening) if found.screening else None,
                "matches": json.loads(found.matches) if found.matches else None,
                "rules_version": found.rules_version,
                "contact": json.loads(found.contact),
            }

    def count(self) -> int:
        """How many referrals are stored."""
        with Session(self.engine) as session:
            return len(session.scalars(select(Referral.id)).all())
