"""The JSON API blueprint: views parse the request, call the Matcher, return JSON."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from matcher import responses
from matcher.errors import IntakeError
from matcher.fhir import intake_from_query, read_screening, split_parameters
from matcher.matching import Matcher
from matcher.storage.referrals import KeyReused, ReferralNotSaved, Referrals
from matcher.web.error_handlers import database_unavailable, error_response
from matcher.web.held import matcher as held_matcher
from matcher.web.held import no_store
from matcher.web.respond import encode, send
from matcher.web.response_cache import CachedResponse, ResponseCache
from matcher.web.risk_gate import (
    carries_risk,
    mark_urgent,
    match_request,
    referral_request,
    screens_risk,
)
from matcher.web.risk_gate import json_intake as json_intake_risk
from matcher.web.security import limiter, public_limit
from matcher.web.submit_referral import submit_referral

bp = Blueprint("api", __name__)
JSON = "application/json"
FHIR_JSON = "application/fhir+json"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadRequest(f"Malformed JSON: the key {key!r} appears twice in one object.")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"Malformed JSON: {name} is not a JSON number.")


MAX_INTEGER_DIGITS = 20  # more than any field takes; Python refuses past 4300 with a ValueError


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise BadRequest(
            f"Malformed JSON: a number of {len(digits.lstrip('-'))} digits; "
            f"no field takes more than {MAX_INTEGER_DIGITS}."
        )
    return int(digits)


def json_body(accepted: tuple[str, ...] = (JSON,)) -> Any:
    """Parse the request body as strict JSON, or raise a 4xx that says what is wrong."""
    if request.mimetype not in accepted:
        raise UnsupportedMediaType(
            f"Content-Type must be {' or '.join(accepted)}, not {request.mimetype or 'missing'!r}."
        )
    raw = request.get_data(cache=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("Malformed JSON: the body is not UTF-8.") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
        )
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"Malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except RecursionError:
        raise BadRequest("Malformed JSON: nested too deeply.") from None


@bp.post("/api/v1/match")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(match_request)
def match() -> Response:
    """Match an intake (JSON, or a FHIR QuestionnaireResponse) to modalities and therapists."""
    matcher = held_matcher()
    cache: ResponseCache = current_app.extensions["response_cache"]
    key = cache.key(
        matcher.language.encode(),
        request.mimetype.encode(),
        request.query_string,
        request.get_data(),
    )
    found = cache.get(key)
    if found is None:
        body = json_body((JSON, FHIR_JSON))
        if request.mimetype == FHIR_JSON:
            result = matcher.match(*_fhir_intake(body, matcher))
        else:
            result = matcher.match(body)
        found = CachedResponse(
            encode(result, responses.MatchResponse), tuple(result["safety"]["triggers"])
        )
        cache.put(key, found)
    mark_urgent(found.triggers)
    return no_store(current_app.response_class(found.body, mimetype=JSON))


def _fhir_intake(body: Any, matcher: Matcher) -> tuple[dict[str, Any], dict[str, int]]:
    # Fields from the URL (ids only) and from a Parameters body; the answers from the resource.
    from_body, answers = split_parameters(body)
    from_query = intake_from_query(request.args)
    twice = sorted(
        {*from_body, *from_body.get("preferences", {})}
        & {*from_query, *from_query.get("preferences", {})} - {"preferences"}
    )
    if twice:
        raise IntakeError({name: ["Given both in the URL and in the body."] for name in twice})
    read = read_screening(answers, matcher.knowledge.screening)
    preferences = {**from_query.get("preferences", {}), **from_body.get("preferences", {})}
    intake = {**from_query, **from_body, "screening": read.answers}
    if preferences:
        intake["preferences"] = preferences
    return intake, read.declared_totals


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


@bp.post("/api/v1/referrals")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(referral_request)
def referral() -> Response:
    """Keep an intake so that someone from the clinic gets in touch; 201 once it is committed."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key must be 1 to 128 visible ASCII characters.")
    matcher = held_matcher()
    referrals: Referrals = current_app.extensions["referrals"]
    try:
        done = submit_referral(matcher, referrals, json_body(), key, request.remote_addr or "")
    except ReferralNotSaved as exc:
        return no_store(database_unavailable(exc.result))
    except KeyReused as exc:
        return no_store(_key_reused(exc))
    stored = {
        "id": done.stored.id,
        "status": "new",
        "urgent": done.stored.urgent,
        "message": done.message,
        "safety": done.result["safety"],
        "result": done.result,
    }
    status = 201 if done.stored.created else 200
    return no_store(send(stored, responses.ReferralResponse, status))


KEY_REUSED = (
    "This Idempotency-Key was already used with a different request, so this request was not "
    "taken as a retry of it. Send each new request with a new key (a random UUID)."
)
KEPT_UNDER_NEW_ID = (
    " Because your answers say you may be at risk, your request was kept all the same, under a "
    "new id, and a person from the clinic will be in touch."
)


def _key_reused(exc: KeyReused) -> Response:
    # 422 without anything of the request that came first; an urgent one was kept regardless.
    errors = {"Idempotency-Key": ["Already used with a different request."]}
    if exc.stored is None:
        return error_response(422, KEY_REUSED, errors)
    return error_response(
        422,
        KEY_REUSED + KEPT_UNDER_NEW_ID,
        errors,
        referral={"id": exc.stored.id, "status": "new", "urgent": exc.stored.urgent},
        result=exc.result,
    )


@bp.post("/api/v1/therapists/<therapist_id>/why")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(json_intake_risk)
def why(therapist_id: str) -> Response:
    """Explain why a therapist is or is not a match for an intake."""
    matcher = held_matcher()
    matcher.therapist(therapist_id)  # 404 before 422: the path is checked first
    return no_store(send(matcher.why(therapist_id, json_body()), responses.WhyResponse))


@bp.get("/api/v1/therapists")
@limiter.limit(public_limit)
def therapists() -> Response:
    """List the roster, filtered and paged."""
    listed = held_matcher().list_therapists(request.args.to_dict())
    return send(listed, responses.TherapistList)


@bp.get("/api/v1/therapists/<therapist_id>")
@limiter.limit(public_limit)
def therapist(therapist_id: str) -> Response:
    """One therapist's public profile."""
    return send(held_matcher().therapist(therapist_id).profile, responses.Profile)


@bp.get("/api/v1/modalities")
@limiter.limit(public_limit)
def modalities() -> Response:
    """Every modality with the rules that recommend it."""
    return jsonify({"modalities": held_matcher().modalities()})


@bp.get("/api/v1/vocabulary")
@limiter.limit(public_limit)
def vocabulary() -> Response:
    """The closed vocabulary of ids the API accepts."""
    return jsonify(held_matcher().knowledge.vocabulary.as_json())


@bp.get("/api/v1/openapi.json")
@limiter.limit(public_limit)
def openapi() -> Response:
    """The OpenAPI document generated from the schemas."""
    return jsonify(current_app.extensions["openapi"]())


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness for a load balancer: 503 while the database cannot be reached."""
    referrals: Referrals = current_app.extensions["referrals"]
    if referrals.reachable():
        return jsonify({"status": "ready", "database": "ok"})
    response = jsonify({"status": "unavailable", "database": "unavailable"})
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness, with the version of the rules and roster being served and any reload problem."""
    matcher = held_matcher()
    problem = current_app.extensions.get("reload_error")
    body = {
        "status": "degraded" if problem else "ok",
        "rules_version": matcher.rules_version,
        "therapists": matcher.roster.size,
        "rules": len(matcher.knowledge.rules),
    }
    if problem:
        body["reload_error"] = f"{problem} (serving the last rules and roster that loaded)"
    return jsonify(body)
