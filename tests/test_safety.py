"""Safety comes first, every time: self-harm answers always start the built-in safety path."""

from __future__ import annotations

import copy
import itertools
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from matcher.web import create_app

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
ITEM9_LINK = "/44260-8"


def phq9(item9: int) -> list[int]:
    return [1, 1, 1, 1, 1, 1, 1, 1, item9]


def fhir_phq9(item9: int) -> dict[str, Any]:
    """The US Core-style fixture with item 9 answered `item9` (and its declared total adjusted)."""
    resource: dict[str, Any] = json.loads(
        (FIXTURES / "phq9_loinc_linkids.json").read_text(encoding="utf-8")
    )
    codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    for item in resource["item"]:
        if item["linkId"] == ITEM9_LINK:
            item["answer"][0]["valueCoding"]["code"] = codes[item9]
        if item["linkId"] == "/44261-6":
            item["answer"][0]["valueDecimal"] = 12 + item9
    return resource


def expected_urgent(item9: int | None, flag: bool | None) -> bool:
    return bool(item9) or flag is True


CASES = list(itertools.product([None, 0, 1, 2, 3], [None, False, True], [False, True]))


@pytest.mark.parametrize(("item9", "flag", "other_answers"), CASES)
def test_every_item9_and_risk_flag_combination_over_json_takes_the_right_path(
    client: FlaskClient,
    item9: int | None,
    flag: bool | None,
    other_answers: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    intake: dict[str, Any] = {
        "difficulties": ["depression", "grief"] if other_answers else ["stress"]
    }
    if item9 is not None:
        intake["screening"] = {"phq9": phq9(item9)}
    if other_answers:
        intake.setdefault("screening", {})["gad7"] = [2, 2, 2, 2, 2, 2, 2]
        intake["preferences"] = {"languages": ["en"], "format": "online", "setting": "group"}
    if flag is not None:
        intake["risk"] = {"self_harm_thoughts": flag}
    with caplog.at_level(logging.WARNING, logger="matcher.safety"):
        response = client.post("/api/v1/match", json=intake)
    assert_right_path(response, expected_urgent(item9, flag), item9, flag, caplog)


@pytest.mark.parametrize(
    ("item9", "flag"), list(itertools.product([0, 1, 2, 3], [None, False, True]))
)
def test_every_item9_and_risk_flag_combination_over_fhir_takes_the_right_path(
    client: FlaskClient, item9: int, flag: bool | None, caplog: pytest.LogCaptureFixture
) -> None:
    # The intake's health fields travel in a FHIR Parameters body, never in the URL.
    parameters: list[dict[str, Any]] = [{"name": "difficulties", "valueCode": "depression"}]
    if flag is not None:
        parameters.append({"name": "self_harm_thoughts", "valueBoolean": flag})
    body = {
        "resourceType": "Parameters",
        "parameter": [*parameters, {"name": "response", "resource": fhir_phq9(item9)}],
    }
    with caplog.at_level(logging.WARNING, logger="matcher.safety"):
        response = client.post(
            "/api/v1/match", data=json.dumps(body), content_type="application/fhir+json"
        )
    assert_right_path(response, expected_urgent(item9, flag), item9, flag, caplog)


def assert_right_path(
    response: Any,
    urgent: bool,
    item9: int | None,
    flag: bool | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    triggers = (["phq9_item9"] if item9 else []) + (["self_harm_thoughts"] if flag else [])
    assert body["safety"]["urgent"] is urgent
    assert body["safety"]["triggers"] == triggers
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "matcher.safety"]
    if urgent:
        assert (
            body["alerts"][0]["level"] == "urgent"
            and body["alerts"][0]["rule"] == "safety.self_harm"
        )
        assert [a["level"] for a in body["alerts"]].count("urgent") == 1
        assert body["safety"]["review_before_booking"] is True
        assert body["matches"]  # every intake here names a difficulty: there is a list
        assert all(m["review_required"] for m in body["matches"])
        assert all(m["caveats"][0]["rule"] == "safety.self_harm" for m in body["matches"])
        event_id = response.headers["X-Safety-Event-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", event_id)
        assert [e["event_id"] for e in events] == [event_id]
        assert set(events[0]) == {
            "event",
            "event_id",
            "follow_up",
            "rules_version",
            "source",
            "status",
        }
    else:
        assert all(a["level"] != "urgent" for a in body["alerts"])
        assert body["safety"]["review_before_booking"] is False
        assert not any(m["review_required"] for m in body["matches"])
        assert "X-Safety-Event-Id" not in response.headers
        assert events == []


def test_the_urgent_body_is_still_the_same_for_the_same_intake(client: FlaskClient) -> None:
    intake = {"difficulties": ["depression"], "risk": {"self_harm_thoughts": True}}
    first = client.post("/api/v1/match", json=intake)
    second = client.post("/api/v1/match", json=intake)
    assert first.data == second.data
    assert first.headers["X-Safety-Event-Id"] != second.headers["X-Safety-Event-Id"]


def test_no_rule_file_can_switch_the_safety_path_off(rules_copy: Path) -> None:
    (rules_copy / "clinical" / "screening.yaml").unlink()
    client = create_app({"RULES_DIR": str(rules_copy), "LOCALE": "ES"}).test_client()
    body = client.post(
        "/api/v1/match", json={"difficulties": ["grief"], "screening": {"phq9": phq9(1)}}
    ).get_json()
    assert body["safety"]["urgent"] is True
    assert body["alerts"][0]["level"] == "urgent"


@pytest.mark.parametrize(
    ("locale", "numbers"),
    [
        ("US", ["988", "911"]),
        ("GB", ["111, option 2", "116 123", "999"]),
        ("ES", ["024", "112"]),
        ("NL", ["113 or 0800-0113", "112"]),
    ],
)
def test_crisis_resources_follow_the_clinic_locale(
    rules_copy: Path, locale: str, numbers: list[str]
) -> None:
    client = create_app({"LOCALE": locale}).test_client()
    body = client.post(
        "/api/v1/match", json={"difficulties": ["grief"], "risk": {"self_harm_thoughts": True}}
    ).get_json()
    contacts = [r["contact"] for r in body["safety"]["resources"]]
    for number in numbers:
        assert number in contacts
    assert f"call {body['safety']['emergency_number']} now" in body["alerts"][0]["text"]
    for resource in body["safety"]["resources"]:
        assert f"{resource['name']}: {resource['contact']}" in body["alerts"][0]["text"]


@pytest.mark.parametrize("locale", [None, "XX", "fr"])
def test_an_unknown_locale_falls_back_to_the_local_emergency_number(locale: str | None) -> None:
    client = create_app({"LOCALE": locale}).test_client()
    body = client.post(
        "/api/v1/match", json={"difficulties": ["grief"], "risk": {"self_harm_thoughts": True}}
    ).get_json()
    assert body["safety"]["resources"] == []
    assert "call your local emergency number now" in body["alerts"][0]["text"]
    assert "go to the nearest emergency department" in body["alerts"][0]["text"]


@pytest.mark.parametrize(
    ("value", "urgent"),
    [(v, True) for v in (True, "true", "yes", "Yes", 1)]
    + [(v, False) for v in (False, "false", "no", 0)],
)
def test_a_self_harm_answer_is_read_however_the_client_writes_yes_or_no(
    client: FlaskClient, value: Any, urgent: bool
) -> None:
    response = client.post(
        "/api/v1/match", json={"difficulties": ["grief"], "risk": {"self_harm_thoughts": value}}
    )
    assert response.status_code == 200
    assert response.get_json()["safety"]["triggers"] == (["self_harm_thoughts"] if urgent else [])


@pytest.mark.parametrize("value", ["maybe", 2, None, "", [True]])
def test_any_other_self_harm_answer_is_refused_naming_the_field(
    client: FlaskClient, value: Any
) -> None:
    response = client.post(
        "/api/v1/match", json={"difficulties": ["grief"], "risk": {"self_harm_thoughts": value}}
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["risk.self_harm_thoughts"]
    assert "safety" not in response.get_json()


def test_safety_answers_never_reach_the_log(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    intake = {
        "difficulties": ["complex_trauma"],
        "screening": {"phq9": phq9(3)},
        "preferences": {"city": "Rotterdam", "languages": ["nl"]},
    }
    with caplog.at_level(logging.DEBUG):
        client.post("/api/v1/match", json=copy.deepcopy(intake))
    text = "\n".join(r.getMessage() for r in caplog.records)
    for value in ("complex_trauma", "Rotterdam", "phq9_item9", '"nl"'):
        assert value not in text


def test_why_not_tells_the_front_desk_when_a_clinician_must_review_first(
    client: FlaskClient,
) -> None:
    intake = {"difficulties": ["depression"], "screening": {"phq9": phq9(2)}}
    body = client.post("/api/v1/therapists/t-001/why", json=intake).get_json()
    assert body["safety"]["urgent"] is True and body["safety"]["review_before_booking"] is True
