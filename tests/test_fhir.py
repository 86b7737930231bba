"""FHIR R4 QuestionnaireResponses in: PHQ-9 and GAD-7 recognised by LOINC code or linkId."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import PROJECT_ROOT
from matcher.fhir import INTAKE_FIELDS, item9_risk
from matcher.rules import load_knowledge
from tests.examples import examples
from tests.invariants import assert_valid_match_response

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
# The bundled screening configuration, as the app loads it.
SCREENING = load_knowledge(PROJECT_ROOT / "rules").screening


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def as_parameters(resource: Any, fields: list[tuple[str, str]]) -> dict[str, Any]:
    """A FHIR Parameters body: the answers as `response`, each field as its own parameter."""
    parameters = [
        {"name": name, "valueString": value}
        for name, raw in fields
        for value in (raw.split(",") if INTAKE_FIELDS[name].kind == "list" else [raw])
    ]
    return {
        "resourceType": "Parameters",
        "parameter": [*parameters, {"name": "response", "resource": resource}],
    }


def post_fhir(client: FlaskClient, resource: Any, query: str = "?difficulties=depression") -> Any:
    """Post FHIR answers with the intake fields of `query`: ids in the URL, health data in the body."""
    fields = parse_qsl(query.removeprefix("?"), keep_blank_values=True)
    in_body = [(k, v) for k, v in fields if k in INTAKE_FIELDS and not INTAKE_FIELDS[k].in_query]
    if in_body and not isinstance(resource, (str, bytes)):
        resource = as_parameters(resource, in_body)
        query = (
            "?" + urlencode([f for f in fields if f not in in_body])
            if len(fields) > len(in_body)
            else ""
        )
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


# --- linkId numbering styles, declared Questionnaire maps, several answers ---------------------

ANSWER_CODES = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
DIFFICULTY_CODES = ["LA6572-7", "LA6573-5", "LA6574-3", "LA6575-0"]
CLINIC_FORM = "https://wellbeing-clinic.example.org/fhir/Questionnaire/first-visit"
MII_PHQ9 = (
    "https://www.medizininformatik-initiative.de/fhir/ext/modul-pro/Questionnaire/mii-qst-pro-phq-9"
)


def coded(value: int, codes: list[str] = ANSWER_CODES) -> dict[str, Any]:
    return {"valueCoding": {"system": "http://loinc.org", "code": codes[value]}}


def response_with(items: list[dict[str, Any]], questionnaire: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "completed"}
    if questionnaire:
        resource["questionnaire"] = questionnaire
    resource["item"] = items
    return resource


def test_the_mii_proms_style_is_scored_with_its_difficulty_question(client: FlaskClient) -> None:
    response = post_fhir(client, fixture("phq9_mii_proms_style.json"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["screening"]["phq9"]["total"] == 9
    assert body["screening"]["phq9"]["severity"] == "mild"
    assert body["screening"]["phq9"]["difficulty"] == 1  # PHQ.10 is reported, never added
    assert body["safety"]["urgent"] is False
    assert_valid_match_response({"difficulties": ["depression"]}, body)


def test_item_9_answered_in_the_mii_proms_style_starts_the_safety_path(client: FlaskClient) -> None:
    resource = fixture("phq9_mii_proms_style.json")
    resource["item"][8]["answer"] = [coded(2)]
    body = post_fhir(client, resource).get_json()
    assert body["screening"]["phq9"]["total"] == 11
    assert body["safety"]["urgent"] is True
    assert body["alerts"][0]["level"] == "urgent"


PHQ9_ANSWERS = [1, 2, 0, 1, 3, 0, 1, 2, 0]  # 10, moderate
GAD7_ANSWERS = [2, 1, 1, 0, 2, 1, 0]  # 7, mild


@pytest.mark.parametrize(
    ("style", "instrument"),
    [
        ("PHQ.{n}", "phq9"),  # MII PROMs module; PHQ.10 is the difficulty question
        ("phq9-{n}", "phq9"),
        ("phq-9-{n}", "phq9"),
        ("PHQ9_{n}", "phq9"),
        ("PHQ-9_{n}", "phq9"),
        ("phq9.q{n}", "phq9"),
        ("phq9/item{n}", "phq9"),
        ("phq9_item_{n}", "phq9"),
        ("/phq9-{n}", "phq9"),
        ("phq9-0{n}", "phq9"),
        ("phq-phq9-q0{n}", "phq9"),  # MII PROMs releases before 2026.5.0
        ("Phq9-Q{n}", "phq9"),
        ("GAD.{n}", "gad7"),
        ("GAD7-{n}", "gad7"),
        ("gad-7.{n}", "gad7"),
        ("gad_7/item{n}", "gad7"),
        ("q{n}", None),
        ("question-{n}", None),
        ("phone-{n}", None),
        ("address.{n}", None),
        ("phq9{n}", None),  # no separator: phq91 is not item 1
        ("phq9--{n}", None),
        ("phq2-{n}", None),  # PHQ-2 is not the PHQ-9
        ("phq-{n}", None),  # `phq` is only read as PHQ.1
        ("xphq9-{n}", None),
        ("phq9-{n}a", None),
        ("phq9 {n}", None),
        ("phq\u017f9-{n}", None),  # no Unicode case folding
    ],
)
def test_numbered_link_id_styles(client: FlaskClient, style: str, instrument: str | None) -> None:
    answers = GAD7_ANSWERS if instrument == "gad7" else PHQ9_ANSWERS
    items = [{"linkId": style.format(n=n), "answer": [coded(v)]} for n, v in enumerate(answers, 1)]
    items.append(
        {"linkId": style.format(n=len(answers) + 1), "answer": [coded(3, DIFFICULTY_CODES)]}
    )
    response = post_fhir(client, response_with(items))
    if instrument is None:
        assert response.status_code == 422
        assert response.get_json()["errors"] == {
            "QuestionnaireResponse.item": [
                "No PHQ-9 or GAD-7 items were recognised (by LOINC code or a numbered linkId)."
            ]
        }
        return
    assert response.status_code == 200, response.get_json()
    screening = response.get_json()["screening"]
    assert list(screening) == [instrument]
    assert screening[instrument]["total"] == sum(answers)
    if instrument == "phq9":
        assert screening["phq9"]["difficulty"] == 3


def test_a_group_named_like_the_questionnaire_is_not_an_item(client: FlaskClient) -> None:
    items = [{"linkId": f"phq-9-{n}", "answer": [coded(v)]} for n, v in enumerate(PHQ9_ANSWERS, 1)]
    grouped = [
        {"linkId": "phq-9", "item": items},
        {"linkId": "phq9-total", "answer": [{"valueInteger": 10}]},
    ]
    body = post_fhir(client, response_with(grouped)).get_json()
    assert body["screening"]["phq9"]["total"] == 10
    assert body["screening"]["phq9"]["declared_total"] == 10


def clinic_form_items() -> list[dict[str, Any]]:
    items = [
        {"linkId": f"mood-{letter}", "answer": [coded(v)]}
        for letter, v in zip("abcdefghi", PHQ9_ANSWERS, strict=True)
    ]
    items.append({"linkId": "mood-impact", "answer": [coded(2, DIFFICULTY_CODES)]})
    items.append({"linkId": "mood-sum", "answer": [{"valueInteger": 10}]})
    items += [
        {"linkId": f"worry-{letter}", "answer": [coded(v)]}
        for letter, v in zip("abcdefg", GAD7_ANSWERS, strict=True)
    ]
    return items


@pytest.mark.parametrize("version", ["", "|2.1"])
def test_a_clinic_questionnaire_is_read_through_its_declared_link_id_map(
    client: FlaskClient, version: str
) -> None:
    response = post_fhir(client, response_with(clinic_form_items(), CLINIC_FORM + version))
    assert response.status_code == 200, response.get_json()
    screening = response.get_json()["screening"]
    assert screening["phq9"]["total"] == 10 and screening["phq9"]["severity"] == "moderate"
    assert screening["phq9"]["difficulty"] == 2
    assert screening["phq9"]["declared_total"] == 10
    assert screening["gad7"]["total"] == 7


def test_the_declared_map_applies_only_to_its_own_questionnaire(client: FlaskClient) -> None:
    other = "https://wellbeing-clinic.example.org/fhir/Questionnaire/follow-up"
    response = post_fhir(client, response_with(clinic_form_items(), other))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["QuestionnaireResponse.item"]


def test_the_current_mii_proms_link_ids_are_declared(client: FlaskClient) -> None:
    items = [
        {"linkId": f"phq-phq2{letter}", "answer": [coded(v)]}
        for letter, v in zip("abcdefghi", PHQ9_ANSWERS, strict=True)
    ]
    items.append({"linkId": "phq-phq9-score-total", "answer": [{"valueDecimal": 10}]})
    items.append({"linkId": "phq-phq9-difficulty", "answer": [coded(1, DIFFICULTY_CODES)]})
    body = post_fhir(client, response_with(items, MII_PHQ9 + "|2026.5.0")).get_json()
    assert body["screening"]["phq9"]["total"] == 10
    assert body["screening"]["phq9"]["declared_total"] == 10
    assert body["screening"]["phq9"]["difficulty"] == 1


@pytest.mark.parametrize(
    ("items", "field", "message"),
    [
        (
            [{"linkId": "PHQ.9", "answer": [coded(0), coded(3)]}],
            "QuestionnaireResponse.item[8].answer",
            "linkId 'PHQ.9' is PHQ-9 item 9, which does not repeat, but it has 2 answers: send one.",
        ),
        (
            [{"linkId": "PHQ.10", "answer": [coded(0, DIFFICULTY_CODES)] * 3}],
            "QuestionnaireResponse.item[9].answer",
            "linkId 'PHQ.10' is the PHQ-9 difficulty question, which does not repeat, but it has "
            "3 answers: send one.",
        ),
    ],
    ids=["item 9", "difficulty"],
)
def test_several_answers_to_a_question_that_does_not_repeat_are_a_422_naming_the_link_id(
    client: FlaskClient, items: list[dict[str, Any]], field: str, message: str
) -> None:
    resource = fixture("phq9_mii_proms_style.json")
    index = int(items[0]["linkId"].split(".")[1]) - 1
    resource["item"][index] = items[0]
    response = post_fhir(client, resource)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {field: [message]}


def test_several_answers_in_a_nested_item_name_the_link_id_path(client: FlaskClient) -> None:
    items = [{"linkId": f"phq9-{n}", "answer": [coded(v)]} for n, v in enumerate(PHQ9_ANSWERS, 1)]
    items[2]["answer"].append(coded(1))
    resource = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": response_with([{"linkId": "mood", "item": items}])}],
    }
    response = post_fhir(client, resource)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "Bundle.entry[0].resource.item[0].item[2].answer": [
            "linkId 'mood' > 'phq9-3' is PHQ-9 item 3, which does not repeat, but it has 2 "
            "answers: send one."
        ]
    }


# --- item9_risk: the safety path reads item 9 before, and apart from, any validation ----------


def item9(*answers: Any, link_id: str = "PHQ.9", **extra: Any) -> dict[str, Any]:
    return {"linkId": link_id, "answer": list(answers), **extra}


def nested(depth: int, innermost: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "item": [innermost]}
    for level in range(depth):
        resource = {
            "resourceType": "QuestionnaireResponse",
            "item": [{"linkId": f"g{level}", **resource}],
        }
    return resource


def bundled(depth: int, innermost: dict[str, Any]) -> dict[str, Any]:
    resource = innermost
    for _ in range(depth):
        resource = {"resourceType": "Bundle", "entry": [{"resource": resource}]}
    return resource


def listed(depth: int, innermost: dict[str, Any]) -> list[Any]:
    resource: list[Any] = [innermost]
    for _ in range(depth):
        resource = [resource]
    return resource


ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"


def ordinal(value: Any, url: str = ORDINAL_VALUE, key: str = "valueDecimal") -> dict[str, Any]:
    return {"extension": [{"url": url, key: value}]}


RISK_CASES = [
    (
        "two answers, the highest counts",
        response_with([item9({"valueInteger": 0}, {"valueInteger": 3})]),
        3,
    ),
    ("two coded answers", response_with([item9(coded(3), coded(0))]), 3),
    ("answered 0", response_with([item9(coded(0))]), 0),
    (
        "ordinal extension on the coding",
        response_with([item9({"valueCoding": ordinal(2, ITEM_WEIGHT)})]),
        2,
    ),
    (
        "ordinal extension on the answer",
        response_with([item9(ordinal(1, key="valueInteger"))]),
        1,
    ),
    (
        "code and ordinal disagree: the higher",
        response_with([item9({"valueCoding": {"code": "LA6568-5", **ordinal(2)}})]),
        2,
    ),
    ("valueDecimal", response_with([item9({"valueDecimal": 2.0})]), 2),
    ("valueQuantity", response_with([item9({"valueQuantity": {"value": 1}})]), 1),
    ("above 3 counts as 3", response_with([item9({"valueInteger": 7})]), 3),
    ("a fraction rounds up", response_with([item9({"valueDecimal": 0.5})]), 1),
    ("a number as text", response_with([item9({"valueInteger": "2"})]), 2),
    ("below 0 is nothing", response_with([item9({"valueInteger": -1})]), None),
    ("a boolean is nothing", response_with([item9({"valueInteger": True})]), None),
    (
        "an unknown answer code is nothing",
        response_with([item9({"valueCoding": {"code": "LA6575-0"}})]),
        None,
    ),
    (
        "unreadable beside readable",
        response_with([item9({"valueString": "often"}, None, 5, {"valueInteger": 1})]),
        1,
    ),
    (
        "a lone answer object, not a list",
        response_with([{"linkId": "phq9-9", "answer": {"valueInteger": 2}}]),
        2,
    ),
    ("no answer", response_with([item9()]), None),
    ("only item 1", response_with([item9(coded(3), link_id="PHQ.1")]), None),
    (
        "by LOINC code on an item of an unrecognised questionnaire",
        response_with(
            [
                {"linkId": "feelings-x", "answer": [coded(1)]},
                {
                    "linkId": "z9",
                    "code": [{"system": "http://loinc.org", "code": "44260-8"}],
                    "answer": [coded(2)],
                },
            ]
        ),
        2,
    ),
    (
        "by LOINC code in the linkId",
        response_with([{"linkId": "/44260-8", "answer": [coded(1)]}]),
        1,
    ),
    (
        "by the clinic's declared map",
        response_with([{"linkId": "mood-i", "answer": [coded(3)]}], CLINIC_FORM + "|1.0"),
        3,
    ),
    (
        "the declared linkId without its questionnaire",
        response_with([{"linkId": "mood-i", "answer": [coded(3)]}]),
        None,
    ),
    ("inside a group", response_with([{"linkId": "phq", "item": [item9(coded(2))]}]), 2),
    (
        "under another item's answer",
        response_with(
            [{"linkId": "intro", "answer": [{"valueBoolean": True, "item": [item9(coded(1))]}]}]
        ),
        1,
    ),
    (
        "item 9 twice: both are read",
        response_with([item9(coded(1)), item9(coded(2), link_id="phq9-9")]),
        2,
    ),
    (
        "a Bundle with two responses",
        {
            "resourceType": "Bundle",
            "entry": [
                {"resource": response_with([item9(coded(1))])},
                {"resource": response_with([item9(coded(2), link_id="/44260-8")])},
            ],
        },
        2,
    ),
    (
        "a Bundle in a Bundle",
        {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Bundle",
                        "entry": [{"resource": response_with([item9(coded(3))])}],
                    }
                }
            ],
        },
        3,
    ),
    (
        "in a contained resource",
        {
            "resourceType": "QuestionnaireResponse",
            "contained": [response_with([item9(coded(2))])],
            "item": [],
        },
        2,
    ),
    (
        "in Parameters",
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "response", "resource": response_with([item9(coded(1))])}],
        },
        1,
    ),
    (
        "each response's own declared map",
        {
            "resourceType": "Bundle",
            "entry": [
                {"resource": response_with([{"linkId": "mood-i", "answer": [coded(3)]}])},
                {
                    "resource": response_with(
                        [{"linkId": "mood-i", "answer": [coded(1)]}], CLINIC_FORM
                    )
                },
            ],
        },
        1,
    ),
    (
        "a wrong resourceType does not hide it",
        {"resourceType": "Questionaire-Response", "item": [item9(coded(2))]},
        2,
    ),
    (
        "a list of responses",
        [response_with([item9(coded(1))]), response_with([item9(coded(3))])],
        3,
    ),
    (
        "a GAD-7 item 7 is no risk item",
        response_with([{"linkId": "gad7-7", "answer": [coded(3)]}]),
        None,
    ),
    ("nested 50,000 deep", nested(50_000, item9(coded(2))), 2),
    ("in Bundles nested 50,000 deep", bundled(50_000, response_with([item9(coded(1))])), 1),
    ("in lists nested 50,000 deep", listed(50_000, response_with([item9(coded(3))])), 3),
    ("None", None, None),
    ("a list", [1, "two", None], None),
    ("a string", "QuestionnaireResponse", None),
    ("a number", 9, None),
    ("items not a list", {"resourceType": "QuestionnaireResponse", "item": "PHQ.9"}, None),
    (
        "items of every type",
        {"item": [None, 1, "a", [], {"linkId": 5}, {"linkId": ["PHQ.9"], "answer": [coded(3)]}]},
        None,
    ),
    (
        "codes and urls of the wrong types",
        response_with(
            [
                {"linkId": "q", "code": 44260, "answer": [coded(3)]},
                {
                    "linkId": "r",
                    "code": [{"system": "http://loinc.org", "code": ["44260-8"]}],
                    "answer": [coded(3)],
                },
                item9(
                    {
                        "valueCoding": {
                            "code": ["LA6571-9"],
                            "extension": [{"url": ["x"], "valueDecimal": 3}, 4],
                        },
                        "extension": {"url": "x"},
                    }
                ),
            ]
        ),
        None,
    ),
    (
        "numbers that are not numbers",
        response_with(
            [
                item9(
                    {"valueDecimal": float("nan")},
                    {"valueDecimal": float("inf")},
                    {"valueInteger": 10**400 * -1},
                    {"valueInteger": "3 days"},
                )
            ]
        ),
        None,
    ),
    (
        "a Bundle of garbage",
        {
            "resourceType": "Bundle",
            "entry": [
                1,
                None,
                {"resource": None},
                {"resource": [None]},
                {"resource": {"item": {}}},
            ],
        },
        None,
    ),
]


@pytest.mark.parametrize(
    ("resource", "expected"),
    [case[1:] for case in RISK_CASES],
    ids=[case[0] for case in RISK_CASES],
)
def test_item9_risk_is_the_highest_item_9_answer_anywhere(
    resource: Any, expected: int | None
) -> None:
    assert item9_risk(resource, SCREENING) == expected


def test_item9_risk_reads_the_answers_of_a_request_that_is_refused(client: FlaskClient) -> None:
    resource = fixture("phq9_mii_proms_style.json")
    del resource["item"][3]  # item 4 missing
    resource["item"][7]["answer"] = [coded(0), coded(3)]  # PHQ.9, with two answers
    assert post_fhir(client, resource).status_code == 422
    assert item9_risk(resource, SCREENING) == 3


def test_item9_risk_does_not_change_the_resource() -> None:
    resource = fixture("bundle_phq9_gad7.json")
    before = json.dumps(resource, sort_keys=True)
    assert item9_risk(resource, SCREENING) == 1
    assert json.dumps(resource, sort_keys=True) == before


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["PHQ.9", "phq9-9", "/44260-8", "44260-8", "LA6571-9", "http://loinc.org"])
)
FHIR_KEYS = st.sampled_from(
    [
        "resourceType", "entry", "resource", "item", "linkId", "answer", "code", "system",
        "valueCoding", "valueInteger", "valueDecimal", "valueQuantity", "value", "extension",
        "url", "questionnaire",
    ]
)  # fmt: skip
FHIR_LIKE = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(FHIR_KEYS | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=50,
)
RISK_PROPERTY = settings(max_examples=examples(300), deadline=None)


@RISK_PROPERTY
@given(resource=FHIR_LIKE)
def test_item9_risk_never_raises_and_answers_on_the_0_to_3_scale(resource: Any) -> None:
    found = item9_risk(resource, SCREENING)
    assert found is None or (type(found) is int and 0 <= found <= 3)


@RISK_PROPERTY
@given(resource=FHIR_LIKE, value=st.integers(0, 3))
def test_an_item_9_answer_beside_anything_is_never_lost(resource: Any, value: int) -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": resource}, {"resource": response_with([item9(coded(value))])}],
    }
    found = item9_risk(bundle, SCREENING)
    assert found is not None and found >= value


# --- the intake's other fields: ids in the URL, health data only in the body --------------------


@pytest.mark.parametrize(
    "query", ["?difficulties=depression", "?age=34", "?city=Madrid", "?self_harm_thoughts=false"]
)
def test_health_data_in_the_url_is_refused_and_said_where_it_belongs(
    client: FlaskClient, query: str
) -> None:
    response = client.post(
        f"/api/v1/match{query}",
        data=json.dumps(fixture("phq9_loinc_linkids.json")),
        content_type="application/fhir+json",
    )
    assert response.status_code == 422
    name = query[1:].split("=")[0]
    assert response.get_json()["errors"] == {
        name: [
            "Health and personal data do not belong in a URL (proxies log URLs): send this "
            "field in the body, as a parameter of a FHIR Parameters resource."
        ]
    }


def test_a_parameters_body_carries_the_fields_and_several_responses(client: FlaskClient) -> None:
    bundle = fixture("bundle_phq9_gad7.json")
    responses = [entry["resource"] for entry in bundle["entry"]]
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "difficulties", "valueCode": "ptsd"},
            {"name": "difficulties", "valueCode": "depression"},
            {"name": "city", "valueString": "Madrid"},
            {"name": "format", "valueCode": "in_person"},
            {"name": "age", "valueInteger": 34},
            *({"name": "response", "resource": r} for r in responses),
        ],
    }
    response = client.post(
        "/api/v1/match?languages=es&limit=2",
        data=json.dumps(body),
        content_type="application/fhir+json",
    )
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert sorted(result["screening"]) == ["gad7", "phq9"]
    assert len(result["matches"]) == 2
    for match in result["matches"]:
        assert match["therapist"]["city"] == "Madrid"
        assert "es" in match["therapist"]["languages"]


def test_parameters_carry_the_main_difficulty_and_the_trauma_details(
    client: FlaskClient,
) -> None:
    # Low mood and PTSD with PTSD as the main problem, the trauma two weeks ago: NG116 puts
    # trauma-focused CBT first and offers no EMDR within a month. Without the two parameters
    # the same answers get EMDR, so the parameters are what changed the answer.
    def modalities(*extra: dict[str, Any]) -> list[str]:
        body = {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "difficulties", "valueCode": "depression"},
                {"name": "difficulties", "valueCode": "ptsd"},
                *extra,
                {"name": "response", "resource": fixture("phq9_loinc_linkids.json")},
            ],
        }
        response = client.post(
            "/api/v1/match", data=json.dumps(body), content_type="application/fhir+json"
        )
        assert response.status_code == 200, response.get_json()
        return [m["id"] for m in response.get_json()["modalities"]]

    told = modalities(
        {"name": "main_difficulty", "valueCode": "ptsd"},
        {"name": "trauma.since", "valueCode": "under_1_month"},
        {"name": "trauma.combat_related", "valueBoolean": False},
    )
    assert told[0] == "tf_cbt" and "emdr" not in told
    assert "emdr" in modalities()


def test_trauma_details_never_ride_in_a_url(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/match?trauma.since=under_1_month",
        data=json.dumps(fixture("phq9_loinc_linkids.json")),
        content_type="application/fhir+json",
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["trauma.since"]


@pytest.mark.parametrize(
    ("parameters", "query", "errors"),
    [
        (
            [{"name": "colour", "valueString": "red"}],
            "",
            {
                "Parameters.parameter[0]": [
                    "Unknown parameter 'colour': expected response or an intake field."
                ]
            },
        ),
        (
            [{"name": "age", "valueInteger": 3, "valueString": "3"}],
            "",
            {"Parameters.parameter[0]": ["Parameter 'age' needs exactly one value[x]."]},
        ),
        (
            [{"name": "age", "valueInteger": 30}, {"name": "age", "valueInteger": 31}],
            "",
            {"Parameters.parameter[1]": ["Parameter 'age' is given twice."]},
        ),
        (
            [{"name": "format", "valueCode": "online"}],
            "?format=online",
            {"format": ["Given both in the URL and in the body."]},
        ),
    ],
)
def test_a_bad_parameters_body_is_a_422_naming_the_parameter(
    client: FlaskClient, parameters: list[dict[str, Any]], query: str, errors: dict[str, list[str]]
) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "difficulties", "valueCode": "depression"},
            *parameters,
            {"name": "response", "resource": fixture("phq9_loinc_linkids.json")},
        ],
    }
    body["parameter"] = [body["parameter"][0], *parameters, body["parameter"][-1]]
    for error in list(errors):
        if error.startswith("Parameters.parameter["):
            index = int(error.split("[")[1].rstrip("]")) + 1
            errors[f"Parameters.parameter[{index}]"] = errors.pop(error)
    response = client.post(
        f"/api/v1/match{query}", data=json.dumps(body), content_type="application/fhir+json"
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == errors


def test_a_parameters_body_without_a_response_is_refused(client: FlaskClient) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "difficulties", "valueCode": "grief"}],
    }
    response = client.post(
        "/api/v1/match", data=json.dumps(body), content_type="application/fhir+json"
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "Parameters.parameter": ["No 'response' parameter holds a QuestionnaireResponse."]
    }
