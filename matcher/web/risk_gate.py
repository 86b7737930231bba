"""The safety gate: every entry point's risk signals, read before anything can refuse the request.

Each view that takes a person's answers declares how to read its risk signals with
`@screens_risk(reader)`. A hook that runs before the rate limiter and before the view reads them
from the raw request and keeps them for the request: the limiter lets such a request through,
every error response carries the `safety` block, and every response logs a safety event with
its id in `X-Safety-Event-Id`, whatever its status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from matcher import risk, safety
from matcher.fhir import item9_risk, self_harm_parameter
from matcher.matching import Matcher
from matcher.web.held import matcher

# The logger name operators filter on, kept when the module moved.
log = logging.getLogger("matcher.risk_gate")

RiskReader = Callable[[Matcher], tuple[str, ...]]
View = TypeVar("View", bound=Callable[..., Any])
# How much of a body over the size limit is still read, only to look for risk answers.
SCAN_LIMIT = 1024 * 1024
FHIR_JSON = "application/fhir+json"
SAFETY_EVENT_HEADER = "X-Safety-Event-Id"


def screens_risk(reader: RiskReader) -> Callable[[View], View]:
    """Declare how a view's request carries risk signals (the gate reads them first)."""

    def declare(view: View) -> View:
        view.risk_reader = reader  # type: ignore[attr-defined]
        return view

    return declare


def signals() -> tuple[str, ...]:
    """The risk signals of the request being handled (empty outside a screened view)."""
    found: tuple[str, ...] = g.get("risk_signals", ())
    return found


def carries_risk() -> bool:
    """Whether this request carries a risk signal: such a request is never rate limited."""
    return bool(signals())


def mark_urgent(triggers: tuple[str, ...] | list[str]) -> None:
    """Record signals a view found beyond the gate's (the response then logs its event too)."""
    g.risk_signals = risk.combine(signals(), triggers)


def safety_block() -> dict[str, Any] | None:
    """The urgent `safety` block for this request's response, or None when it carries no risk."""
    found = signals()
    if not found:
        return None
    held = matcher()
    return held.safety(found)


# --- reading the raw request ---------------------------------------------------------------


def _body_text() -> str:
    """The body as text, for the readers; a body over the limit is read in part and refused."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if limit and length is not None and length > limit:
        data = request.environ["wsgi.input"].read(min(length, SCAN_LIMIT))
        g.refuse_too_large = True
    else:
        try:
            data = request.get_data(cache=True)
        except RequestEntityTooLarge:
            g.refuse_too_large = True
            return ""
    return data.decode("utf-8", errors="replace")


def _parsed(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _body_signals(structured: Callable[[Any], tuple[str, ...]], held: Matcher) -> tuple[str, ...]:
    text = _body_text()
    parsed, value = _parsed(text)
    if parsed and not g.get("refuse_too_large"):
        return structured(value)
    return risk.in_text(text, held.knowledge.screening)


def json_intake(held: Matcher) -> tuple[str, ...]:
    """Risk in a JSON intake body (POST /api/v1/match, /why)."""
    return _body_signals(held.risk_in, held)


def referral_request(held: Matcher) -> tuple[str, ...]:
    """Risk in a referral request body: its intake's."""
    return _body_signals(
        lambda raw: held.risk_in(raw.get("intake") if isinstance(raw, dict) else None), held
    )


def match_request(held: Matcher) -> tuple[str, ...]:
    """Risk in POST /api/v1/match: a JSON intake, or FHIR answers with the query's fields."""
    if request.mimetype != FHIR_JSON:
        return json_intake(held)
    config = held.knowledge.screening
    query: tuple[str, ...] = ()
    if risk.yes_no(request.args.get(risk.SELF_HARM)) is True:
        query = (risk.SELF_HARM,)

    def fhir_signals(resource: Any) -> tuple[str, ...]:
        found: list[str] = []
        instrument = next((i for i in config.instruments.values() if i.risk_item), None)
        if instrument is not None and item9_risk(resource, config):
            found.append(risk.risk_item_signal(instrument.id, instrument.risk_item or 0))
        if risk.yes_no(self_harm_parameter(resource)) is True:
            found.append(risk.SELF_HARM)
        return tuple(found)

    return risk.combine(_body_signals(fhir_signals, held), query)


def form_reader(to_intake: Callable[[Any, Matcher], dict[str, Any]]) -> RiskReader:
    """A reader for an HTML form, given how the form becomes an intake."""

    def read(held: Matcher) -> tuple[str, ...]:
        try:
            form = request.form
        except RequestEntityTooLarge:
            g.refuse_too_large = True
            return risk.in_text(_body_text(), held.knowledge.screening)
        return held.risk_in(to_intake(form, held))

    return read


# --- the hooks --------------------------------------------------------------------------------


def _screen() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    reader: RiskReader | None = getattr(view, "risk_reader", None)
    if reader is None:
        return
    held = matcher()
    try:
        g.risk_signals = reader(held)
    except Exception:
        # A reader must never stand between a person and the safety path; if one fails, the
        # request goes on and validation answers it, but the failure is logged loudly.
        log.exception("risk reader failed")
        g.risk_signals = ()
    if g.get("refuse_too_large"):
        raise RequestEntityTooLarge()


def _log_event(response: Response) -> Response:
    if signals() and SAFETY_EVENT_HEADER not in response.headers:
        # The body stays the same for the same intake; each urgent request is its own event.
        response.headers[SAFETY_EVENT_HEADER] = safety.record_urgent_event(
            matcher().rules_version, request.path, response.status_code
        )
    return response


def install(app: Flask) -> None:
    """Read risk before every other hook (the rate limiter's too); log every urgent response."""
    app.before_request(_screen)
    app.after_request(_log_event)
