"""FHIR R4 QuestionnaireResponses in: PHQ-9 and GAD-7 recognised by LOINC code or linkId."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.invariants import assert_valid_match_response

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def post_fhir(client: FlaskClient, resource: Any, query: str = "?difficulties=depression") -> Any:
    body = resource if isinstance(resource, (str, bytes)) else json.dumps(resource)
    return client.post(f"/api/v1/match{query}", data=body, content_type="application/fhir+json")


@pytest.mark.parametrize(
    ("name", "total", "severity"),
    [
        ("phq9_loinc_linkids.json", 12, "moderate"),  # US Core style: linkId "/44250-9"
        ("phq9_numbered_linkids.json", 7, "mild"),  # linkId "phq9-1", ordinalValue, "total-score"
    ],
)
def test_both_published_styles_give_the_right_total_and_band(
    client: FlaskClient, name: str, total: int, severity: str
) -> None:
    response = post_fhir(client, fixture(name))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["screening"]["phq9"]["total"] == total
    assert body["screening"]["phq9"]["severity"] == severity
    assert body["screening"]["phq9"]["declared_total"] == total
    assert body["screening"]["phq9"]["difficulty"] == 1
    assert "note" not in body["screening"]["phq9"]
    assert body["safety"]["urgent"] is False
    assert_valid_match_response({"difficulties": ["depression"]}, body)


def test_a_bundle_with_phq9_and_gad7_reads_both_and_reports_a_wrong_declared_total(
    client: FlaskClient,
) -> None:
    body = post_fhir(client, fixture("bundle_phq9_gad7.json"), "?difficulties=stress").get_json()
    assert body["screening"]["phq9"]["total"] == 9
    assert (
        body["screening"]["gad7"]["total"] == 11
        and body["screening"]["gad7"]["severity"] == "moderate"
    )
    assert body["screening"]["gad7"]["declared_total"] == 14
    assert body["screening"]["gad7"]["note"] == (
        "The questionnaire declared a GAD-7 total of 14, but its answers add up to 11; 11 is used."
    )
    assert {
        "level": "caution",
        "rule": "screening.gad7.declared_total",
        "text": body["screening"]["gad7"]["note"],
    } in body["alerts"]
    # item 9 of this PHQ-9 is 1: the safety path starts whatever the total
    assert body["safety"]["urgent"] is True and body["alerts"][0]["level"] == "urgent"
    assert "screening.gad7_ask_about_anxiety" in [a["rule"] for a in body["alerts"]]


def test_items_are_recognised_by_code_never_by_display_text(client: FlaskClient) -> None:
    resource = fixture("phq9_loinc_linkids.json")
    for item in resource["item"]:
        item["text"] = "Feeling down, depressed, or hopeless"  # the same wording on every item
    reversed_items = {**resource, "item": list(reversed(resource["item"]))}
    body = post_fhir(client, reversed_items).get_json()
    assert body["screening"]["phq9"]["total"] == 12


@pytest.mark.parametrize("style", ["/{code}", "{code}", "phq9-{n}", "PHQ-9_{n}", "code-only"])
def test_every_link_id_style_is_understood(client: FlaskClient, style: str) -> None:
    codes = [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    items = []
    for n, code in enumerate(codes, start=1):
        item: dict[str, Any] = {
            "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA6570-1"}}]
        }
        if style == "code-only":
            item["linkId"] = f"question-{n}"
            item["code"] = [{"system": "http://loinc.org", "code": code}]
        else:
            item["linkId"] = style.format(code=code, n=n)
        items.append(item)
    body = post_fhir(
        client, {"resourceType": "QuestionnaireResponse", "status": "completed", "item": items}
    ).get_json()
    assert body["screening"]["phq9"]["total"] == 18
    assert body["safety"]["urgent"] is True  # item 9 answered "More than half the days"


def test_a_missing_item_9_is_a_422_never_a_silent_pass(client: FlaskClient) -> None:
    resource = fixture("phq9_loinc_linkids.json")
    resource["item"] = [i for i in resource["item"] if i["linkId"] != "/44260-8"]
    response = post_fhir(client, resource)
    assert response.status_code == 422
    assert response.get_json()["errors"]["screening.phq9"][0].startswith(
        "PHQ-9 is incomplete or invalid: item 9 is missing."
    )


def test_an_unanswered_item_is_missing_not_zero(client: FlaskClient) -> None:
    resource = fixture("phq9_numbered_linkids.json")
    del resource["item"][3]["answer"]
    response = post_fhir(client, resource)
    assert response.status_code == 422
    assert "item 4 is missing" in response.get_json()["errors"]["screening.phq9"][0]


@pytest.mark.parametrize(
    ("resource", "field", "message"),
    [
        ({"hello": "world"}, "resourceType", "Not a FHIR resource: resourceType is missing."),
        ([1, 2], "resourceType", "Not a FHIR resource: resourceType is missing."),
        (
            {"resourceType": "Patient"},
            "resourceType",
            "Expected a QuestionnaireResponse or a Bundle of them, not 'Patient'.",
        ),
        (
            {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}]},
            "Bundle.entry",
            "The Bundle holds no QuestionnaireResponse.",
        ),
        (
            {
                "resourceType": "QuestionnaireResponse",
                "item": [{"linkId": "mood", "answer": [{"valueInteger": 2}]}],
            },
            "QuestionnaireResponse.item",
            "No PHQ-9 or GAD-7 items were recognised (by LOINC code or a numbered linkId).",
        ),
        (
            {
                "resourceType": "QuestionnaireResponse",
                "item": [{"linkId": "/44250-9", "answer": [{"valueCoding": {"code": "LA9999-9"}}]}],
            },
            "QuestionnaireResponse.item[0].answer[0].valueCoding",
            "Answer code 'LA9999-9' is not one of LA6568-5, LA6569-3, LA6570-1, LA6571-9.",
        ),
        (
            {"resourceType": "QuestionnaireResponse", "item": "nope"},
            "QuestionnaireResponse.item",
            "Must be a list.",
        ),
    ],
)
def test_non_fhir_or_malformed_resources_get_a_clear_422(
    client: FlaskClient, resource: Any, field: str, message: str
) -> None:
    response = post_fhir(client, resource)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {field: [message]}


def test_malformed_fhir_json_is_400(client: FlaskClient) -> None:
    response = post_fhir(client, '{"resourceType": "QuestionnaireResponse",')
    assert response.status_code == 400


def test_query_parameters_carry_difficulties_and_preferences(client: FlaskClient) -> None:
    query = "?difficulties=ptsd,depression&languages=es&format=in_person&setting=individual&city=Madrid&limit=2"
    body = post_fhir(client, fixture("phq9_loinc_linkids.json"), query).get_json()
    assert {m["id"] for m in body["modalities"][:3]} == {"cbt", "tf_cbt", "emdr"}  # 3 points each
    assert 0 < len(body["matches"]) <= 2
    for match in body["matches"]:
        assert "es" in match["therapist"]["languages"] and match["therapist"]["city"] == "Madrid"


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("", {"difficulties": ["Missing data for required field."]}),
        ("?difficulties=depression&age=old", {"preferences.age": ["Not a valid integer."]}),
        ("?difficulties=depression&colour=red", {"colour": ["Unknown query parameter."]}),
        (
            "?difficulties=depression&format=in_person",
            {"preferences.city": ["Required when format is in_person."]},
        ),
    ],
)
def test_bad_query_parameters_are_422_with_the_json_field_path(
    client: FlaskClient, query: str, errors: dict[str, list[str]]
) -> None:
    response = post_fhir(client, fixture("phq9_numbered_linkids.json"), query)
    assert response.status_code == 422
    assert response.get_json()["errors"] == errors
