"""Drafts: a form's answers between its steps, kept on the server for one browser session.

The browser holds only a random token (in the signed session cookie); the row is keyed by a
keyed hash of it, so the table alone cannot be matched to a cookie. A draft ends when it is
cleared, when its answers are sent, or `minutes` after its last change.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from matcher.notifications import keyed_hash
from matcher.storage.database import Draft, aware, now

Answers = list[tuple[str, str]]


class Drafts:
    """The drafts of stepped forms and console calls."""

    def __init__(self, engine: Engine, secret: str, minutes: int) -> None:
        self.engine = engine
        self.secret = secret
        self.minutes = minutes

    def _id(self, token: str) -> str:
        return keyed_hash(self.secret, "draft", token)

    def load(self, token: str, at: datetime | None = None) -> Answers | None:
        """The draft's answers, or None when there is none or it has timed out (then removed)."""
        moment = at or now()
        with Session(self.engine) as session, session.begin():
            found = session.get(Draft, self._id(token))
            if found is None:
                return None
            if aware(found.updated_at) < moment - timedelta(minutes=self.minutes):
                session.delete(found)
                return None
            return [(str(name), str(value)) for name, value in json.loads(found.answers)]

    def save(self, token: str, answers: Answers, at: datetime | None = None) -> None:
        """Keep these answers as the draft (replacing what was kept); forget timed-out drafts.

        Abandoned drafts go with the next save anyone makes (and at every start), so that no
        answers outlive their timeout for long, whether or not a sender runs housekeeping.
        """
        moment = at or now()
        encoded = json.dumps([list(pair) for pair in answers], separators=(",", ":"))
        with Session(self.engine) as session, session.begin():
            cutoff = moment - timedelta(minutes=self.minutes)
            session.execute(delete(Draft).where(Draft.updated_at < cutoff))
            found = session.get(Draft, self._id(token))
            if found is None:
                session.add(Draft(id=self._id(token), updated_at=moment, answers=encoded))
            else:
                found.updated_at, found.answers = moment, encoded

    def clear(self, token: str) -> None:
        """Forget the draft ("Clear my answers", or the answers were sent)."""
        with Session(self.engine) as session, session.begin():
            session.execute(delete(Draft).where(Draft.id == self._id(token)))

    def purge_expired(self, at: datetime | None = None) -> int:
        """Delete every draft not changed for `minutes`; return how many."""
        cutoff = (at or now()) - timedelta(minutes=self.minutes)
        with Session(self.engine) as session, session.begin():
            stale = session.scalars(select(Draft.id).where(Draft.updated_at < cutoff)).all()
            if stale:
                session.execute(delete(Draft).where(Draft.id.in_(stale)))
            return len(stale)
