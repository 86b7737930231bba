"""The use case of a referral request: validate it, match its intake, store it once.

It crosses the layers (the Matcher of the domain, the referrals of the storage), so it lives
with the web that calls it, not in storage: the JSON API, the intake form and the console.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError

from matcher.errors import IntakeError
from matcher.matching import Matcher
from matcher.schemas import ReferralRequestSchema, load_intake_part
from matcher.storage.referrals import (
    KeyReused,
    KeyUsedElsewhere,
    ReferralNotSaved,
    Referrals,
    Stored,
    request_hash,
)

# The logger name operators filter on, kept when the use case moved out of storage.
log = logging.getLogger("matcher.referrals")


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
    *,
    source: str | None = None,
    asked_about: str | None = None,
    taken_by: str | None = None,
    consent_words: str | None = None,
) -> Submitted:
    """Validate a referral request, match its intake and store it (once); IntakeError if bad.

    Without consent nothing is stored unless the intake is urgent (self-harm answers).
    ReferralNotSaved, carrying the match, if the database fails; KeyReused when the
    Idempotency-Key came first with another request (an urgent one is stored all the same).
    `client` scopes the key (the client's address): another client's key is another key.
    `source` (by default `client`): the client's address, whose keyed hash groups a flood of
    urgent referrals. `asked_about`, `taken_by` and `consent_words` are kept as given
    (Referrals.store).
    """
    body = load_intake_part(ReferralRequestSchema(), payload)
    try:
        result = matcher.match(body["intake"])
    except IntakeError as exc:
        raise IntakeError({f"intake.{path}": m for path, m in exc.errors.items()}) from None
    urgent = bool(result["safety"]["urgent"])
    if not body["consent"] and not urgent:
        raise IntakeError(
            {"consent": [gettext("Needed to keep your request: without it nothing is stored.")]}
        )
    keep = functools.partial(
        referrals.store,
        body["intake"],
        result,
        body["contact"],
        body["consent"],
        source=source if source is not None else client or None,
        asked_about=asked_about,
        taken_by=taken_by,
        consent_words=consent_words,
        language=matcher.language,
    )
    try:
        try:
            stored = keep(scoped_key(idempotency_key, client), request_hash(payload))
        except KeyUsedElsewhere:
            # Someone else's request came with this key first. Theirs is never shown; an
            # urgent person is still kept, under a new id, so that someone gets in touch.
            raise KeyReused(result, keep(None, request_hash(payload)) if urgent else None) from None
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
            gettext("A person from the clinic will be in touch with you as soon as they can.")
            + " "
            + result["safety"]["message"]
        )
    else:
        contact = body["contact"]
        how = contact.get("preferred") or ("email" if contact.get("email") else "phone")
        message = (
            gettext("Thank you. Someone from the clinic will contact you by email.")
            if how == "email"
            else gettext("Thank you. Someone from the clinic will contact you by phone.")
        )
    return Submitted(stored, result, message)
