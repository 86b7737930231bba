"""The safety path, built in and never switched off by a rule: crisis resources, human review."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from matcher.localise import is_fallback
from matcher.rules import CrisisConfig

log = logging.getLogger("matcher.safety")


def crisis_resources(crisis: CrisisConfig, locale: str | None) -> tuple[str, list[dict[str, str]]]:
    """The emergency number and resources for a locale, or the fallback for an unknown one."""
    known = crisis.locales.get((locale or "").upper())
    if known is None:
        return crisis.fallback_emergency, []
    return str(known["emergency"]), [dict(r) for r in known["resources"]]


def safety_json(
    signals: Sequence[str],
    crisis: CrisisConfig,
    locale: str | None,
) -> dict[str, Any]:
    """The `safety` part of a response; urgent when any risk signal is present.

    `crisis` holds the words in the person's language; a sentence not yet translated is the
    English (never nothing), and `fallback` says so.
    """
    if not signals:
        return {"urgent": False, "triggers": [], "review_before_booking": False}
    emergency, resources = crisis_resources(crisis, locale)
    parts = [crisis.message, crisis.emergency_template]
    lines = [crisis.message, crisis.emergency_template.format(emergency=emergency)]
    if not resources:
        lines.append(crisis.fallback_text)
        parts.append(crisis.fallback_text)
    lines.append(crisis.review_notice)
    parts.append(crisis.review_notice)
    fallback = {"fallback": True} if any(is_fallback(part) for part in parts) else {}
    return {
        **fallback,
        "urgent": True,
        "triggers": list(signals),
        "message": " ".join(lines),
        "emergency_number": emergency,
        "resources": resources,
        "locale": (locale or "").upper() or None,
        "review_before_booking": True,
        "follow_up": crisis.follow_up,
    }


def urgent_alert(safety: dict[str, Any], gettext: Callable[[str], str] = str) -> dict[str, Any]:
    """The alert that goes before every other part of an urgent response."""
    contacts = "; ".join(f"{r['name']}: {r['contact']}" for r in safety["resources"])
    support = gettext("Support now: {contacts}.").format(contacts=contacts)
    text = safety["message"] + (f" {support}" if contacts else "")
    return {"level": "urgent", "rule": "safety.self_harm", "text": text}


def no_list_alert(crisis: CrisisConfig) -> dict[str, Any]:
    """The note that a risk-only intake gets a person, not an automatic list of therapists."""
    return {"level": "info", "rule": "safety.no_automatic_list", "text": crisis.no_list}


def record_urgent_event(rules_version: str, source: str, status: int | None = None) -> str:
    """Log an urgent intake for staff follow-up, with no personal data; return its event id.

    Logged whatever the answer was: `status` says whether the request itself was refused.
    """
    event_id = uuid.uuid4().hex
    log.warning(
        json.dumps(
            {
                "event": "safety.urgent_intake",
                "event_id": event_id,
                "source": source,
                "status": status,
                "rules_version": rules_version,
                "follow_up": "clinician review before booking",
            },
            sort_keys=True,
        )
    )
    return event_id
