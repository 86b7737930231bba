"""schemathesis hooks: requests as a well-behaved client sends them.

A client sends a new Idempotency-Key with each new request (the README says a random UUID);
schemathesis would otherwise reuse short generated keys across different bodies, which the
service rightly refuses (422), and report them as valid requests rejected. Likewise a client
picks a location's region from its country's ISO 3166-2 list, which the schema cannot express,
and names as `main_difficulty` one of the `difficulties` it sends (the OpenAPI document cannot
say "one of that list" without a schema that takes schemathesis minutes to satisfy). A form sends
the PHQ-9 difficulty question only with the nine PHQ-9 answers (OpenAPI 3.0 has no
dependentRequired; the field's description says so).
"""

from __future__ import annotations

import uuid
from typing import Any

import pycountry
import schemathesis

from matcher.places import is_region


def _main_among_difficulties(intake: Any) -> None:
    if isinstance(intake, dict) and "main_difficulty" in intake:
        chosen = intake.get("difficulties")
        if isinstance(chosen, list) and chosen and intake["main_difficulty"] not in chosen:
            intake["main_difficulty"] = chosen[0]
        elif not (isinstance(chosen, list) and chosen):
            del intake["main_difficulty"]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Give each request its own Idempotency-Key, a location's region one of its country's, and
    a main difficulty only one of the difficulties chosen, as the form does."""
    headers = case.headers or {}
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
        case.headers = headers
    body = case.body
    if isinstance(body, dict):
        _main_among_difficulties(body)
        _main_among_difficulties(body.get("intake"))
        _difficulty_with_its_questionnaire(body)
        _difficulty_with_its_questionnaire(body.get("intake"))
    # A location's region is one of its own country's (the schema cannot say so).
    body = case.body if isinstance(case.body, dict) else {}
    _consistent(body.get("location"))
    intake = body.get("intake")
    if isinstance(intake, dict):
        _consistent(intake.get("location"))
    # A payment carries the fields of its method only, as the form sends it. The document could
    # say so with a oneOf per method and scheme (the payers are data); that is left to do.
    for holder in (body, intake if isinstance(intake, dict) else {}):
        preferences = holder.get("preferences")
        if isinstance(preferences, dict):
            _one_method(preferences)


def _difficulty_with_its_questionnaire(intake: Any) -> None:
    """The PHQ-9 difficulty question only beside the nine PHQ-9 answers, as the forms send it."""
    screening = intake.get("screening") if isinstance(intake, dict) else None
    if isinstance(screening, dict) and "phq9" not in screening:
        screening.pop("phq9_difficulty", None)


def _consistent(location: Any) -> None:
    """A region of the location's own country, as a client picks from ISO 3166-2, or none."""
    if not isinstance(location, dict) or "region" not in location:
        return
    region, country = location["region"], location.get("country")
    if not (isinstance(region, str) and isinstance(country, str)):
        return
    if not (is_region(region) and region.startswith(f"{country}-")):
        regions = pycountry.subdivisions.get(country_code=country) or []
        if regions:
            location["region"] = sorted(str(r.code) for r in regions)[0]
        else:
            del location["region"]


def _one_method(preferences: dict[str, Any]) -> None:
    """Self-pay with an amount and no plan: the fields of the other method left out."""
    payment = preferences.get("payment")
    if not isinstance(payment, dict):
        return
    if payment.get("method") != "self_pay":
        payment["method"] = "self_pay"
    for name in ("scheme", "payer"):
        payment.pop(name, None)
    if "max_fee" in preferences and "max_fee" in payment:
        payment["max_fee"] = preferences["max_fee"]
