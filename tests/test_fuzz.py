"""Hostile and malformed input: every endpoint answers a 4xx with a useful message, never a 500."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.examples import examples

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
)
ANY_JSON = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=40,
)
FIELDS = [
    "difficulties",
    "preferences",
    "limit",
    "screening",
    "risk",
    "languages",
    "format",
    "setting",
    "city",
    "age",
    "max_fee",
    "therapist_gender",
    "times",
    "phq9",
    "gad7",
    "phq9_difficulty",
    "self_harm_thoughts",
    "resourceType",
    "item",
    "entry",
]
# Objects shaped like intakes and FHIR resources, with wrong types and values in every place.
NEAR_MISSES = st.recursive(
    JSON_LEAVES
    | st.sampled_from(
        [
            "ptsd",
            "in_person",
            "group",
            "es",
            "QuestionnaireResponse",
            "Bundle",
            "Patient",
            "LA6570-1",
            "/44260-8",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=10)
        | st.dictionaries(st.sampled_from(FIELDS), children, max_size=8)
    ),
    max_leaves=60,
)
POSTS = ["/api/v1/match", "/api/v1/therapists/t-001/why"]
FUZZ = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_clean_error_or_success(response: Any) -> None:
    assert response.status_code < 500, response.data[:500]
    body = response.get_json()
    assert isinstance(body, dict), response.data[:200]
    if response.status_code >= 400:
        assert body["code"] == response.status_code and body["message"]
        for path, messages in body.get("errors", {}).items():
            assert isinstance(path, str) and messages and all(isinstance(m, str) for m in messages)


@FUZZ
@given(body=ANY_JSON | NEAR_MISSES, path=st.sampled_from(POSTS))
def test_any_json_body_gets_a_4xx_or_a_match(client: FlaskClient, body: Any, path: str) -> None:
    assert_clean_error_or_success(client.post(path, json=body))


@FUZZ
@given(
    body=ANY_JSON | NEAR_MISSES,
    query=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=20), max_size=5),
)
def test_any_fhir_body_and_query_gets_a_4xx_or_a_match(
    client: FlaskClient, body: Any, query: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/match",
        query_string=query,
        data=json.dumps(body),
        content_type="application/fhir+json",
    )
    assert_clean_error_or_success(response)


@FUZZ
@given(
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/fhir+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
        ]
    ),
)
def test_arbitrary_bytes_get_a_4xx(client: FlaskClient, raw: bytes, content_type: str) -> None:
    response = client.post("/api/v1/match", data=raw, content_type=content_type or None)
    assert_clean_error_or_success(response)


@FUZZ
@given(params=st.dictionaries(st.text(max_size=15), st.text(max_size=30), max_size=6))
def test_any_listing_query_gets_a_4xx_or_a_page(
    client: FlaskClient, params: dict[str, str]
) -> None:
    assert_clean_error_or_success(client.get("/api/v1/therapists", query_string=params))


@FUZZ
@given(therapist_id=st.text(max_size=60))
def test_any_therapist_id_gets_a_404_or_a_profile(client: FlaskClient, therapist_id: str) -> None:
    response = client.get(
        "/api/v1/therapists/"
        + therapist_id.replace("/", "%2F").replace("?", "%3F").replace("#", "%23")
    )
    assert response.status_code < 500


def test_deeply_nested_json_is_a_400_not_a_crash(client: FlaskClient) -> None:
    body = "[" * 30_000 + "]" * 30_000  # valid JSON, 60 KB, nested past the parser's depth
    response = client.post("/api/v1/match", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] == "Malformed JSON: nested too deeply."
    nested = '{"difficulties": ' + "[" * 5000 + "]" * 5000 + "}"
    assert client.post(
        "/api/v1/match", data=nested, content_type="application/json"
    ).status_code in (400, 422)


def test_huge_strings_and_lists_are_refused_with_their_field(client: FlaskClient) -> None:
    big = client.post(
        "/api/v1/match", json={"difficulties": ["grief"], "preferences": {"city": "x" * 50_000}}
    )
    assert big.status_code == 422 and "preferences.city" in big.get_json()["errors"]
    many = client.post("/api/v1/match", json={"difficulties": ["grief"] * 5000})
    assert many.status_code == 422 and "difficulties" in many.get_json()["errors"]
    over = client.post(
        "/api/v1/match",
        data=json.dumps({"difficulties": ["grief"], "x": "y" * 70_000}),
        content_type="application/json",
    )
    assert over.status_code == 413


def test_wrong_kinds_of_fhir_resource_are_refused(client: FlaskClient) -> None:
    for kind in ("Patient", "Observation", "Questionnaire", "OperationOutcome", "Bundle"):
        response = client.post(
            "/api/v1/match?languages=en",
            data=json.dumps({"resourceType": kind}),
            content_type="application/fhir+json",
        )
        assert response.status_code == 422, kind
