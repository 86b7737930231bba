"""The OpenAPI document, generated from the marshmallow schemas by apispec."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from matcher import responses, schemas
from matcher.matching import Matcher

REF_TEMPLATE = "#/components/schemas/{name}"
# Fields a response may leave out although the roster file must give them.
HIDDEN_BY_CLINIC = {
    "Licence": "number",
    "CompactAuthority": "number",
}


def _json(schema: str | dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed JSON or query",
        404: "Not found",
        413: "Body over the size limit",
        415: "Content-Type is not application/json",
        422: "Invalid intake or query: `errors` maps field paths to messages",
        429: "Over the rate limit (MATCHER_RATE_LIMIT per client address); never for a request "
        "that carries a risk signal",
    }
    documented = {str(code): {"description": text[code], **_json("Error")} for code in codes}
    if 429 in codes:
        documented["429"]["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        }
    return documented


def _comma_list(ids: list[str]) -> str:
    one = "(?:" + "|".join(re.escape(i) for i in ids) + ")"
    return rf"^\s*(?:{one}\s*)?(?:,\s*(?:{one}\s*)?)*$"


def _describe_checklist_query(document: dict[str, Any], matcher: Matcher) -> None:
    """Say in the schema which ids the checklist's comma-separated parameters accept."""
    vocabulary = matcher.knowledge.vocabulary
    shapes: dict[str, dict[str, Any]] = {
        "modalities": {"type": "string", "pattern": _comma_list(list(vocabulary.modalities))},
        "languages": {"type": "string", "pattern": _comma_list(schemas.LANGUAGE_CODES)},
        "format": {"type": "string", "enum": [*vocabulary.formats, "any"]},
        "setting": {"type": "string", "enum": [*vocabulary.settings, "any"]},
    }
    for parameter in document["paths"]["/api/v1/checklist"]["get"]["parameters"]:
        if parameter["name"] in shapes:
            parameter["schema"] = {**parameter["schema"], **shapes[parameter["name"]]}


def _openapi_30(schema: Any) -> Any:
    """Say a JSON Schema (2020-12, as msgspec writes it) the way OpenAPI 3.0 reads it."""
    if isinstance(schema, list):
        return [_openapi_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    said = {k: _openapi_30(v) for k, v in schema.items() if k != "title"}
    if "properties" in schema:  # field names, not keywords: a field may be called "title"
        said["properties"] = {k: _openapi_30(v) for k, v in schema["properties"].items()}
    options = said.get("anyOf")
    if options is not None and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del said["anyOf"]
        base = rest[0] if len(rest) == 1 else {"anyOf": rest}
        said = {**base, **said, "nullable": True}
    if "$ref" in said and len(said) > 1:
        # OpenAPI 3.0 ignores a $ref's siblings: keep the description beside it through allOf.
        extra = {k: v for k, v in said.items() if k not in ("$ref", "type")}
        said = {"allOf": [{"$ref": said["$ref"]}], **extra} if extra else {"$ref": said["$ref"]}
    return said


def response_components() -> dict[str, dict[str, Any]]:
    """The response bodies' schemas, generated from their types (matcher/responses.py)."""
    record = responses.COMPONENTS["Therapist"].__name__
    _, found = msgspec.json.schema_components(
        responses.COMPONENTS.values(), ref_template=REF_TEMPLATE
    )
    text = msgspec.json.encode(found).decode()
    # The roster's record is the public profile: the document calls it Therapist.
    text = text.replace(REF_TEMPLATE.format(name=record), responses.THERAPIST_REF)
    components: dict[str, dict[str, Any]] = {
        ("Therapist" if name == record else name): _openapi_30(schema)
        for name, schema in msgspec.json.decode(text).items()
    }
    for name, field in HIDDEN_BY_CLINIC.items():
        components[name]["required"].remove(field)
        components[name]["properties"][field]["description"] = (
            "Left out when the clinic hides licence numbers (MATCHER_HIDE_LICENCE_NUMBERS)."
        )
    return components


def build_spec(matcher: Matcher, version: str) -> dict[str, Any]:
    """Build the OpenAPI 3 document for the API, with the intake's vocabulary as enums."""
    spec = APISpec(
        title="matcher",
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Therapist matching: intake in, explained modalities and "
            "therapists out. Suggestions, never a diagnosis."
        },
    )
    for name, component in response_components().items():
        spec.components.schema(name, component)
    spec.components.schema("Intake", schema=matcher.intake_schema)
    intake_body = {"required": True, **_json("Intake")}
    therapist_id = {
        "name": "therapist_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    any_object: dict[str, Any] = {"type": "object", "additionalProperties": True}
    spec.path(
        path="/api/v1/match",
        operations={
            "post": {
                "summary": "Match an intake to kinds of therapy and therapists, with explanations",
                "requestBody": intake_body,
                "responses": {
                    "200": {"description": "Matches", **_json("MatchResponse")},
                    **_errors(400, 413, 415, 422, 429),
                },
            }
        },
    )
    spec.components.schema("ReferralRequest", schema=schemas.ReferralRequestSchema)
    spec.path(
        path="/api/v1/referrals",
        operations={
            "post": {
                "summary": "Ask the clinic to get in touch: stores the intake once committed",
                "description": "consent must be true, except for an urgent intake (self-harm "
                "answers), where only what safety follow-up needs is kept. A retry with the same "
                "Idempotency-Key returns the first referral (200).",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"},
                    }
                ],
                "requestBody": {"required": True, **_json("ReferralRequest")},
                "responses": {
                    "201": {"description": "Stored", **_json("ReferralResponse")},
                    "200": {
                        "description": "Stored before, under this Idempotency-Key",
                        **_json("ReferralResponse"),
                    },
                    "503": {
                        "description": "The database is unavailable; nothing was stored. The "
                        "match is in `result` all the same, with the crisis resources of an "
                        "urgent intake.",
                        **_json("ReferralNotSaved"),
                    },
                    **_errors(400, 413, 415, 422, 429),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/therapists/{therapist_id}/why",
        operations={
            "post": {
                "summary": "Why (not) this therapist for this intake",
                "parameters": [therapist_id],
                "requestBody": intake_body,
                "responses": {
                    "200": {"description": "Explanation", **_json("WhyResponse")},
                    **_errors(400, 404, 413, 415, 422, 429),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/therapists",
        operations={
            "get": {
                "summary": "List and filter the roster",
                "parameters": [{"in": "query", "schema": matcher.therapist_query_schema}],
                "responses": {
                    "200": {"description": "A page of therapists", **_json("TherapistList")},
                    **_errors(422, 429),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/therapists/{therapist_id}",
        operations={
            "get": {
                "summary": "One therapist's public profile",
                "parameters": [therapist_id],
                "responses": {
                    "200": {"description": "Profile", **_json("Therapist")},
                    **_errors(404, 429),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/checklist",
        operations={
            "get": {
                "summary": "Questions to ask a therapist, tailored to modalities and preferences",
                "parameters": [{"in": "query", "schema": schemas.ChecklistQuerySchema}],
                "responses": {
                    "200": {"description": "The tailored checklist", **_json("Checklist")},
                    **_errors(422, 429),
                },
            }
        },
    )
    for path, summary in {
        "/api/v1/modalities": "Every modality and the rules that recommend it",
        "/api/v1/vocabulary": "The closed vocabulary of ids",
        "/api/v1/openapi.json": "This document",
        "/healthz": "Liveness, with the rules version",
    }.items():
        spec.path(
            path=path,
            operations={
                "get": {
                    "summary": summary,
                    "responses": {"200": {"description": "OK", **_json(any_object)}},
                }
            },
        )
    spec.path(
        path="/readyz",
        operations={
            "get": {
                "summary": "Readiness: whether the database answers (matching works either way)",
                "responses": {
                    "200": {"description": "Ready", **_json(any_object)},
                    "503": {"description": "The database cannot be reached", **_json(any_object)},
                },
            }
        },
    )
    document = spec.to_dict()
    _describe_checklist_query(document, matcher)
    document["components"]["schemas"]["ReferralRequest"]["properties"]["intake"] = {
        "$ref": "#/components/schemas/Intake"
    }
    # A rule marshmallow checks across fields, said in the schema too: in person needs a city.
    components = document["components"]["schemas"]
    # Rules marshmallow checks across fields, said in the schema too. An intake names at least
    # one difficulty, unless it carries a risk signal (a yes to self-harm, PHQ-9 item 9 above 0).
    yes = {"enum": [True, "true", "yes", 1]}
    components["Risk"]["properties"]["self_harm_thoughts"] = {
        "description": components["Risk"]["properties"]["self_harm_thoughts"]["description"],
        "enum": [True, False, "true", "false", "yes", "no", 1, 0],
    }
    components["Intake"]["anyOf"] = [
        {"required": ["difficulties"], "properties": {"difficulties": {"minItems": 1}}},
        {
            "required": ["risk"],
            "properties": {
                "risk": {
                    "required": ["self_harm_thoughts"],
                    "properties": {"self_harm_thoughts": yes},
                }
            },
        },
    ]
    # A contact is an e-mail address or a phone number; consent is needed unless urgent.
    # ...and the way preferred is one that was given.
    components["Contact"]["allOf"] = [
        {"anyOf": [{"required": ["email"]}, {"required": ["phone"]}]},
        {
            "anyOf": [
                {"not": {"required": ["preferred"]}},
                {"required": ["email"], "properties": {"preferred": {"enum": ["email"]}}},
                {"required": ["phone"], "properties": {"preferred": {"enum": ["phone"]}}},
            ]
        },
    ]
    components["ReferralRequest"]["anyOf"] = [
        {"properties": {"consent": {"enum": [True]}}},
        {"properties": {"intake": components["Intake"]["anyOf"][1]}},
    ]
    document["components"]["schemas"]["Preferences"]["anyOf"] = [
        {"properties": {"format": {"not": {"enum": ["in_person"]}}}},
        {"required": ["city"]},
    ]
    return document
