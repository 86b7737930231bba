"""Safety fails closed: every entry point x every risk signal x valid and invalid requests.

Whatever else is wrong with a request, one that carries a risk signal leaves with the crisis
resources, `safety.urgent: true` and a logged safety event; never a bare 4xx. Adding an entry
point is one line in ENTRY_POINTS, a signal one line in SIGNALS, a way to be wrong one line in
PROBLEMS.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from matcher.web import create_app
from tests.forms import form_token

PASSWORD = "correct horse battery"
FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
ANSWER_CODES = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


@pytest.fixture(scope="module")
def gb_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app with UK crisis resources and a staff account; rate limits off (tested below)."""
    app = create_app(
        {
            "TESTING": True,
            "LOCALE": "GB",
            "SECRET_KEY": "gate-test-key-" + "x" * 32,
            "STATE_DIR": str(tmp_path_factory.mktemp("gate")),
            "RATE_LIMIT": "",
            "LOGIN_RATE_LIMIT": "",
        }
    )
    app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
    return app


# --- how each entry point sends an intake -------------------------------------------------------

FORM_PREFERENCES = ("languages", "format", "setting", "city", "age", "max_fee")


def as_form(intake: dict[str, Any]) -> dict[str, Any]:
    """The intake form's fields for a JSON intake (fields the form has no place for ride along)."""
    form: dict[str, Any] = {"difficulties": intake.get("difficulties", [])}
    for name, value in (intake.get("preferences") or {}).items():
        form[name] = value
    for name, answers in (intake.get("screening") or {}).items():
        for number, answer in enumerate(answers, start=1):
            form[f"{name}-{number}"] = "" if answer is None else str(answer)
    for name, value in intake.items():
        if name not in ("difficulties", "preferences", "screening", "risk"):
            form[name] = str(value)
    flag = (intake.get("risk") or {}).get("self_harm_thoughts")
    if flag is not None:
        form["self_harm_thoughts"] = {True: "yes", False: "no"}.get(flag, str(flag))
    return form


def json_post(path: str) -> Callable[[Flask, Any], TestResponse]:
    def send(app: Flask, intake: Any) -> TestResponse:
        body = intake if isinstance(intake, RawBody) else RawBody(json.dumps(intake))
        return app.test_client().post(path, data=body.text, content_type=body.content_type)

    return send


CONTACT = {"name": "Sam", "phone": "+44 20 7946 0000"}


def referral(app: Flask, intake: Any) -> TestResponse:
    if isinstance(intake, RawBody):
        envelope = (
            f'{{"contact": {json.dumps(CONTACT)}, "consent": false, "intake": {intake.text}}}'
        )
        return json_post("/api/v1/referrals")(app, RawBody(envelope, intake.content_type))
    body = {"intake": intake, "contact": CONTACT, "consent": False}
    return app.test_client().post("/api/v1/referrals", json=body)


def intake_form(app: Flask, intake: Any) -> TestResponse:
    client = app.test_client()
    if isinstance(intake, RawBody):
        return client.post("/results", data=intake.text, content_type=intake.content_type)
    token = form_token(client.get("/form").get_data(as_text=True))
    return client.post("/results", data={**as_form(intake), "csrf_token": token})


def console(app: Flask, intake: Any) -> TestResponse:
    staff = app.test_client()
    page = staff.get("/staff/login").get_data(as_text=True)
    staff.post(
        "/staff/login",
        data={"username": "desk", "password": PASSWORD, "csrf_token": form_token(page)},
    )
    token = form_token(staff.get("/staff").get_data(as_text=True))
    if isinstance(intake, RawBody):
        return staff.post("/staff", data=intake.text, content_type=intake.content_type)
    return staff.post("/staff", data={**as_form(intake), "csrf_token": token, "action": "match"})


@dataclass(frozen=True)
class RawBody:
    """A body sent as it is, for the ways of being wrong that no valid encoding can carry."""

    text: str
    content_type: str = "application/json"


ENTRY_POINTS: dict[str, Callable[[Flask, Any], TestResponse]] = {
    "POST /api/v1/match": json_post("/api/v1/match"),
    "POST /api/v1/therapists/<id>/why": json_post("/api/v1/therapists/t-001/why"),
    "POST /api/v1/referrals": referral,
    "POST /results (intake form)": intake_form,
    "POST /staff (console)": console,
}
HTML_ENTRY_POINTS = {"POST /results (intake form)", "POST /staff (console)"}

# --- the risk signals, as a person gives them ---------------------------------------------------


def phq9(item9: int, skipped: int | None = None) -> list[int | None]:
    answers: list[int | None] = [1, 1, 1, 1, 1, 1, 1, 1, item9]
    if skipped is not None:
        answers[skipped - 1] = None
    return answers


SIGNALS: dict[str, dict[str, Any]] = {
    "self-harm yes": {"risk": {"self_harm_thoughts": True}},
    'self-harm "yes"': {"risk": {"self_harm_thoughts": "yes"}},
    "PHQ-9 item 9 = 1": {"screening": {"phq9": phq9(1)}},
    "PHQ-9 item 9 = 3, item 4 skipped": {"screening": {"phq9": phq9(3, skipped=4)}},
    "PHQ-9 item 9 = 2, GAD-7 incomplete": {"screening": {"phq9": phq9(2), "gad7": [1, 1, 2]}},
}

# --- what else is wrong with the request --------------------------------------------------------

PROBLEMS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "nothing": lambda i: i,
    "no difficulty ticked": lambda i: {k: v for k, v in i.items() if k != "difficulties"},
    "a language spelled out": lambda i: {**i, "preferences": {"languages": ["Spanish"]}},
    "in person without a city": lambda i: {**i, "preferences": {"format": "in_person"}},
    "age 121": lambda i: {**i, "preferences": {"age": 121}},
    "an unknown field": lambda i: {**i, "colour": "blue"},
    "an unknown difficulty": lambda i: {**i, "difficulties": ["sadness"]},
    "malformed JSON": lambda i: RawBody(json.dumps(i)[:-1] + ",}"),
    "a body over the size limit": lambda i: RawBody(json.dumps({**i, "pad": "x" * 70_000})),
    "the wrong content type": lambda i: RawBody(json.dumps(i), "text/plain"),
}
# Only the API reads JSON bodies: a form post carries these as form fields, or not at all.
JSON_ONLY = {"malformed JSON", "a body over the size limit", "the wrong content type"}

CASES = [
    pytest.param(entry, signal, problem, id=f"{entry} | {signal} | {problem}")
    for entry in ENTRY_POINTS
    for signal in SIGNALS
    for problem in PROBLEMS
    if not (entry in HTML_ENTRY_POINTS and problem in JSON_ONLY)
]


def urgent_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "matcher.safety" and "safety.urgent_intake" in r.getMessage()
    ]


@pytest.mark.parametrize(("entry", "signal", "problem"), CASES)
def test_every_risk_signal_reaches_the_safety_path_whatever_else_is_wrong(
    gb_app: Flask, entry: str, signal: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    intake = PROBLEMS[problem]({"difficulties": ["depression"], **copy.deepcopy(SIGNALS[signal])})
    with caplog.at_level(logging.INFO, logger="matcher.safety"):
        response = ENTRY_POINTS[entry](gb_app, intake)
    assert response.status_code < 500, response.get_data(as_text=True)
    event_id = response.headers.get("X-Safety-Event-Id", "")
    assert re.fullmatch(r"[0-9a-f]{32}", event_id)
    events = urgent_events(caplog)
    assert [e["event_id"] for e in events] == [event_id]
    assert events[0]["status"] == response.status_code
    if entry in HTML_ENTRY_POINTS:
        html = response.get_data(as_text=True)
        assert "116 123" in html and "999" in html  # Samaritans and the emergency number
        assert html.index("116 123") < html.find('class="error') or 'class="error' not in html
        return
    body = response.get_json()
    assert body["safety"]["urgent"] is True
    assert body["safety"]["emergency_number"] == "999"
    assert [r["name"] for r in body["safety"]["resources"]] == [
        "NHS 111 (mental health)",
        "Samaritans",
        "Shout",
        "Emergency services",
    ]
    if response.status_code >= 400:
        assert set(body) >= {"code", "status", "message", "safety"}


@pytest.mark.parametrize("entry", sorted(set(ENTRY_POINTS) - HTML_ENTRY_POINTS))
@pytest.mark.parametrize("problem", ["nothing", "age 121", "malformed JSON"])
def test_a_request_without_risk_gets_no_safety_path_and_no_event(
    gb_app: Flask, entry: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    intake = PROBLEMS[problem](
        {"difficulties": ["depression"], "risk": {"self_harm_thoughts": False}}
    )
    with caplog.at_level(logging.INFO, logger="matcher.safety"):
        response = ENTRY_POINTS[entry](gb_app, intake)
    assert "X-Safety-Event-Id" not in response.headers
    assert urgent_events(caplog) == []
    body = response.get_json()
    assert body.get("safety", {"urgent": False})["urgent"] is False


def test_a_risk_only_intake_is_valid_and_gets_help_from_a_person_not_a_list(
    gb_app: Flask,
) -> None:
    response = gb_app.test_client().post(
        "/api/v1/match", json={"risk": {"self_harm_thoughts": True}}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["safety"]["urgent"] is True
    assert body["safety"]["follow_up"].startswith("We cannot contact you from this answer alone.")
    assert body["matches"] == [] and body["relaxed"] == [] and body["no_match"] is None
    assert [a["rule"] for a in body["alerts"]][:2] == [
        "safety.self_harm",
        "safety.no_automatic_list",
    ]


def test_an_intake_without_difficulties_or_risk_is_still_refused(gb_app: Flask) -> None:
    response = gb_app.test_client().post(
        "/api/v1/match", json={"risk": {"self_harm_thoughts": False}}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"difficulties": ["Missing data for required field."]}


# --- FHIR ---------------------------------------------------------------------------------------


def fhir_phq9(item9_answers: list[int], drop_item: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = json.loads(
        (FIXTURES / "phq9_loinc_linkids.json").read_text(encoding="utf-8")
    )
    for item in resource["item"]:
        if item["linkId"] == "/44260-8":
            item["answer"] = [{"valueCoding": {"code": ANSWER_CODES[v]}} for v in item9_answers]
    if drop_item:
        resource["item"] = [i for i in resource["item"] if i["linkId"] != drop_item]
    return resource


FHIR_CASES = {
    "item 9 = 2": (fhir_phq9([2]), ""),
    "item 9 = 3, item 4 missing": (fhir_phq9([3], drop_item="/44254-1"), ""),
    "item 9 answered [0, 3]": (fhir_phq9([0, 3]), ""),
    "self-harm yes in the query, unknown parameter": (
        fhir_phq9([0]),
        "?self_harm_thoughts=true&x=1",
    ),
    "item 9 = 1, language spelled out": (fhir_phq9([1]), "?languages=Spanish"),
}


@pytest.mark.parametrize("case", FHIR_CASES)
def test_fhir_risk_reaches_the_safety_path_whatever_else_is_wrong(
    gb_app: Flask, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    resource, query = FHIR_CASES[case]
    with caplog.at_level(logging.INFO, logger="matcher.safety"):
        response = gb_app.test_client().post(
            "/api/v1/match" + query,
            data=json.dumps(resource),
            content_type="application/fhir+json",
        )
    body = response.get_json()
    assert body["safety"]["urgent"] is True, body
    assert response.headers["X-Safety-Event-Id"] == urgent_events(caplog)[0]["event_id"]


def test_a_fhir_item_9_with_two_answers_is_refused_but_still_urgent(gb_app: Flask) -> None:
    response = gb_app.test_client().post(
        "/api/v1/match", data=json.dumps(fhir_phq9([0, 3])), content_type="application/fhir+json"
    )
    assert response.status_code == 422
    assert response.get_json()["safety"]["urgent"] is True


# --- nothing in front of the safety path turns a person away -------------------------------------


@pytest.fixture()
def limited_app(tmp_path: Path) -> Flask:
    """The app with a public limit of two requests a minute."""
    return create_app(
        {"TESTING": True, "LOCALE": "GB", "STATE_DIR": str(tmp_path), "RATE_LIMIT": "2 per minute"}
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/match", {"difficulties": ["grief"], "risk": {"self_harm_thoughts": True}}),
        (
            "/api/v1/referrals",
            {
                "intake": {"difficulties": ["grief"], "risk": {"self_harm_thoughts": True}},
                "contact": {"name": "Sam", "phone": "+44 20 7946 0000"},
                "consent": True,
            },
        ),
    ],
)
def test_an_urgent_request_is_never_refused_by_the_rate_limit(
    limited_app: Flask, path: str, body: dict[str, Any]
) -> None:
    client = limited_app.test_client()
    plain = {"difficulties": ["grief"]}
    statuses = [client.post("/api/v1/match", json=plain).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    urgent = [client.post(path, json=body) for _ in range(3)]
    assert [r.status_code < 300 for r in urgent] == [True, True, True]
    assert all(
        r.get_json().get("safety", r.get_json().get("result", {}).get("safety"))["urgent"]
        for r in urgent
    )
    assert client.post("/api/v1/match", json=plain).status_code == 429


def test_an_urgent_referral_under_someone_elses_key_is_kept_under_a_new_id(
    gb_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = gb_app.test_client()
    key = {"Idempotency-Key": "shared-key-1"}
    first = {
        "intake": {"difficulties": ["grief"]},
        "contact": {"name": "Ana", "email": "ana@example.org"},
        "consent": True,
    }
    assert client.post("/api/v1/referrals", json=first, headers=key).status_code == 201
    second = {
        "intake": {"difficulties": ["grief"], "risk": {"self_harm_thoughts": True}},
        "contact": {"name": "Ben", "phone": "+44 20 7946 0001"},
        "consent": False,
    }
    with caplog.at_level(logging.INFO, logger="matcher.safety"):
        response = client.post("/api/v1/referrals", json=second, headers=key)
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"] == {"Idempotency-Key": ["Already used with a different request."]}
    assert body["safety"]["urgent"] is True
    assert body["referral"]["urgent"] is True
    stored = gb_app.extensions["referrals"].get(body["referral"]["id"])
    assert stored["urgent"] is True and stored["contact"]["name"] == "Ben"
    assert "Ana" not in response.get_data(as_text=True)
    assert len(urgent_events(caplog)) == 1


def test_the_same_key_with_another_plain_request_is_refused_and_reveals_nothing(
    gb_app: Flask,
) -> None:
    client = gb_app.test_client()
    key = {"Idempotency-Key": "shared-key-2"}
    urgent = {
        "intake": {"difficulties": ["grief"], "risk": {"self_harm_thoughts": True}},
        "contact": {"name": "Ana", "email": "ana@example.org"},
        "consent": True,
    }
    made = client.post("/api/v1/referrals", json=urgent, headers=key)
    assert made.status_code == 201
    other = {
        **urgent,
        "intake": {"difficulties": ["grief"]},
        "contact": {"name": "Eve", "email": "eve@example.org"},
    }
    response = client.post("/api/v1/referrals", json=other, headers=key)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert made.get_json()["id"] not in text and "urgent" not in response.get_json()
    again = client.post("/api/v1/referrals", json=urgent, headers=key)
    assert again.status_code == 200 and again.get_json()["id"] == made.get_json()["id"]


# --- every view of an urgent intake says a human reviews it --------------------------------------


@pytest.mark.parametrize("therapist", ["t-001", "t-002"])
def test_why_for_an_urgent_intake_says_a_clinician_reviews_before_booking(
    gb_app: Flask, therapist: str
) -> None:
    intake = {"difficulties": ["depression"], "risk": {"self_harm_thoughts": True}}
    body = gb_app.test_client().post(f"/api/v1/therapists/{therapist}/why", json=intake).get_json()
    assert body["review_required"] is True
    assert body["caveats"][0] == {
        "rule": "safety.self_harm",
        "text": "A clinician needs to review this request before booking (safety answers)",
    }
    assert body["summary"].endswith(
        "A clinician reviews this request before any booking (safety answers)."
    )
    plain = gb_app.test_client().post(
        f"/api/v1/therapists/{therapist}/why", json={"difficulties": ["depression"]}
    )
    assert plain.get_json()["review_required"] is False
    assert "clinician" not in plain.get_json()["summary"]


def test_a_difficulty_marked_as_a_risk_in_the_vocabulary_starts_the_safety_path(
    rules_copy: Path, tmp_path: Path
) -> None:
    vocabulary = rules_copy / "vocabulary.yaml"
    vocabulary.write_text(
        vocabulary.read_text(encoding="utf-8").replace(
            "difficulties:\n",
            "difficulties:\n"
            '  - {id: self_harm, label: "Hurting myself", phrase: "hurting yourself", risk: true}\n',
            1,
        ),
        encoding="utf-8",
    )
    app = create_app(
        {"TESTING": True, "RULES_DIR": str(rules_copy), "STATE_DIR": str(tmp_path), "LOCALE": "GB"}
    )
    client = app.test_client()
    alone = client.post("/api/v1/match", json={"difficulties": ["self_harm"]}).get_json()
    assert alone["safety"]["triggers"] == ["self_harm"]
    assert alone["matches"] == []
    refused = client.post(
        "/api/v1/match", json={"difficulties": ["self_harm", "grief"], "limit": 0}
    )
    assert refused.status_code == 422 and refused.get_json()["safety"]["triggers"] == ["self_harm"]
    with_grief = client.post("/api/v1/match", json={"difficulties": ["self_harm", "grief"]})
    assert with_grief.get_json()["matches"] and with_grief.get_json()["safety"]["urgent"] is True


@pytest.mark.parametrize(
    ("intake", "triggers"),
    [
        ({"difficulties": ["grief"], "self_harm_thoughts": True}, ["self_harm_thoughts"]),
        (
            {"difficulties": ["grief"], "preferences": {"self_harm_thoughts": "yes"}},
            ["self_harm_thoughts"],
        ),
        ({"difficulties": ["grief"], "phq9": [0, 0, 0, 0, 0, 0, 0, 0, 2]}, ["phq9_item9"]),
        ({"intake": {"screening": {"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 1]}}}, ["phq9_item9"]),
    ],
)
def test_a_risk_answer_in_the_wrong_place_is_refused_but_still_reaches_the_safety_path(
    gb_app: Flask, intake: dict[str, Any], triggers: list[str]
) -> None:
    response = gb_app.test_client().post("/api/v1/match", json=intake)
    assert response.status_code == 422
    body = response.get_json()
    assert body["safety"]["triggers"] == triggers
    assert response.headers["X-Safety-Event-Id"]
