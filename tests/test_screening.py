"""PHQ-9 and GAD-7 scores: computed by the service, banded, and used by the rules."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.invariants import assert_valid_match_response


def phq9_with_total(total: int, item9: int = 0) -> list[int]:
    """Nine answers adding up to `total`, with item 9 as given."""
    items, left = [], total - item9
    for _ in range(8):
        step = min(3, left)
        items.append(step)
        left -= step
    assert left == 0
    return [*items, item9]


def gad7_with_total(total: int) -> list[int]:
    items, left = [], total
    for _ in range(7):
        step = min(3, left)
        items.append(step)
        left -= step
    return items


def match(client: FlaskClient, intake: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/match", json=intake)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    assert_valid_match_response(intake, body)
    return body


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (24, "severe"),
    ],
)
def test_phq9_total_and_band_are_computed_by_the_service(
    client: FlaskClient, total: int, severity: str
) -> None:
    body = match(
        client, {"difficulties": ["depression"], "screening": {"phq9": phq9_with_total(total)}}
    )
    assert body["screening"]["phq9"]["total"] == total
    assert body["screening"]["phq9"]["severity"] == severity
    assert "not a diagnosis" in body["screening"]["phq9"]["text"]


def test_phq9_maximum_is_27_and_severe(client: FlaskClient) -> None:
    body = match(
        client,
        {
            "difficulties": ["depression"],
            "screening": {"phq9": [3] * 9},
            "preferences": {"format": "online"},
        },
    )
    assert (
        body["screening"]["phq9"]["total"] == 27
        and body["screening"]["phq9"]["severity"] == "severe"
    )


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_total_and_band(client: FlaskClient, total: int, severity: str) -> None:
    body = match(
        client, {"difficulties": ["anxiety"], "screening": {"gad7": gad7_with_total(total)}}
    )
    assert body["screening"]["gad7"] == {
        "total": total,
        "max_total": 21,
        "severity": severity,
        "text": body["screening"]["gad7"]["text"],
    }


def test_phq9_difficulty_question_is_reported_but_never_added(client: FlaskClient) -> None:
    body = match(
        client,
        {
            "difficulties": ["depression"],
            "screening": {"phq9": phq9_with_total(8), "phq9_difficulty": 3},
        },
    )
    assert body["screening"]["phq9"]["total"] == 8 and body["screening"]["phq9"]["difficulty"] == 3


@pytest.mark.parametrize(
    ("phq9", "message"),
    [
        ([1, 1, 1, 1, 1, 1, 1, 1], "PHQ-9 is incomplete or invalid: item 9 is missing."),
        ([1, 1, 1, 1, 1, 1, 1], "PHQ-9 is incomplete or invalid: items 8 and 9 are missing."),
        ([1, None, 1, 1, 1, 1, 1, 1, 1], "PHQ-9 is incomplete or invalid: item 2 is missing."),
        (
            [1, 1, 1, 1, 1, 1, 1, 1, 4],
            "PHQ-9 is incomplete or invalid: item 9 must be 0, 1, 2 or 3, not 4.",
        ),
        (
            [1, 1, 1, 1, 1, 1, 1, 1, True],
            "PHQ-9 is incomplete or invalid: item 9 must be 0, 1, 2 or 3, not True.",
        ),
        (
            [1, 1, 1, 1, "2", 1, 1, 1, 1],
            "PHQ-9 is incomplete or invalid: item 5 must be 0, 1, 2 or 3, not '2'.",
        ),
        ([1] * 10, "PHQ-9 is incomplete or invalid: PHQ-9 has 9 items, not 10."),
    ],
)
def test_incomplete_phq9_is_422_naming_the_items(
    client: FlaskClient, phq9: list[Any], message: str
) -> None:
    response = client.post(
        "/api/v1/match", json={"difficulties": ["depression"], "screening": {"phq9": phq9}}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "screening.phq9": [
            message + " Every item is needed: a missing answer is never counted as 0."
        ]
    }


def test_incomplete_gad7_and_bad_difficulty_answer_are_422(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/match",
        json={"difficulties": ["anxiety"], "screening": {"gad7": [1, 2, 3], "phq9_difficulty": 4}},
    )
    errors = response.get_json()["errors"]
    assert response.status_code == 422
    assert errors["screening.gad7"][0].startswith(
        "GAD-7 is incomplete or invalid: items 4, 5, 6 and 7 are missing."
    )
    assert errors["screening.phq9_difficulty"] == [
        "Must be greater than or equal to 0 and less than or equal to 3."
    ]


def test_the_phq9_difficulty_question_without_the_nine_answers_is_422(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/api/v1/match",
        json={
            "difficulties": ["anxiety"],
            "screening": {"phq9_difficulty": 2, "gad7": [2, 1, 1, 1, 1, 1, 1]},
        },
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "screening.phq9_difficulty": [
            "The difficulty question needs the nine PHQ-9 answers: send screening.phq9 too, "
            "or leave phq9_difficulty out."
        ]
    }


def test_gad7_of_10_without_anxiety_suggests_asking_about_anxiety(client: FlaskClient) -> None:
    body = match(client, {"difficulties": ["grief"], "screening": {"gad7": gad7_with_total(10)}})
    alert = next(a for a in body["alerts"] if a["rule"] == "screening.gad7_ask_about_anxiety")
    # The rule tests a total of 10 or more, and its "because" says so (not the band).
    assert alert["text"].startswith("Because your GAD-7 total is 10 or more:")
    assert "not a diagnosis" in alert["text"]
    with_anxiety = match(
        client, {"difficulties": ["grief", "anxiety"], "screening": {"gad7": gad7_with_total(10)}}
    )
    assert "screening.gad7_ask_about_anxiety" not in [a["rule"] for a in with_anxiety["alerts"]]
    below = match(client, {"difficulties": ["grief"], "screening": {"gad7": gad7_with_total(9)}})
    assert "screening.gad7_ask_about_anxiety" not in [a["rule"] for a in below["alerts"]]


def test_more_severe_phq9_changes_the_advice_and_says_so(client: FlaskClient) -> None:
    intake: dict[str, Any] = {"difficulties": ["depression"], "preferences": {"format": "online"}}
    without = match(client, intake)
    severe = match(client, {**intake, "screening": {"phq9": phq9_with_total(17)}})
    assert "individual" not in {a["setting"] for a in without["advice"]}
    assert [(a["rule"], a["setting"]) for a in severe["advice"]] == [
        ("screening.phq9_more_severe_individual", "individual")
    ]
    advice = severe["advice"][0]
    assert advice["text"].startswith(
        "Because you mentioned low mood and your PHQ-9 total is 16 or more:"
    )
    # NG222 lists individual CBT and individual BA first for more severe depression, CBT first:
    # the score does not change the order of the two. Below them the tables differ: less severe
    # (table 1, also without a score) IPT, then counselling, then STPP; more severe (table 2)
    # counselling, then STPP, then IPT.
    assert [(m["id"], m["score"]) for m in without["modalities"]] == [
        ("cbt", 3),
        ("behavioural_activation", 3),
        ("ipt", 2),
        ("counselling", 1),
        ("psychodynamic", 1),
    ]
    assert [(m["id"], m["score"]) for m in severe["modalities"]] == [
        ("cbt", 3),
        ("behavioural_activation", 3),
        ("counselling", 2),
        ("psychodynamic", 1),
        ("ipt", 1),
    ]
    gp = next(a for a in severe["alerts"] if a["rule"] == "screening.phq9_gp_review")
    assert gp["level"] == "info"
    assert "GP" in gp["text"] and "not a diagnosis" in gp["text"]
    assert "depression" not in gp["text"].lower()
    assert all(
        "advised_setting" in [s["id"] for s in m["score_breakdown"]] for m in severe["matches"]
    )


# NG222's "less severe" is every total below 16: 15 too (Kroenke's "moderately severe" band).
@pytest.mark.parametrize("total", [0, 7, 12, 15])
def test_less_severe_phq9_with_low_mood_advises_a_group(client: FlaskClient, total: int) -> None:
    body = match(
        client, {"difficulties": ["depression"], "screening": {"phq9": phq9_with_total(total)}}
    )
    assert [(a["rule"], a["setting"]) for a in body["advice"]] == [
        ("screening.phq9_less_severe_group", "group")
    ]
    assert body["advice"][0]["text"].startswith(
        "Because you mentioned low mood and your PHQ-9 total is below 16:"
    )
    assert body["alerts"] == []


def test_a_less_severe_phq9_leaves_the_choice_to_someone_who_asked_for_individual_sessions(
    client: FlaskClient,
) -> None:
    body = match(
        client,
        {
            "difficulties": ["depression"],
            "screening": {"phq9": phq9_with_total(7)},
            "preferences": {"setting": "individual"},
        },
    )
    # NG222 offers individual CBT or BA to people who do not want a group: the request decides,
    # and the one piece of advice says which suggestion it set aside.
    assert [(a["rule"], a["setting"], a["step"]) for a in body["advice"]] == [
        ("preferences.setting", "individual", "request")
    ]
    assert body["advice"][0]["text"].startswith(
        "You asked for individual sessions, so that comes first. A group would also suit you, "
        "because you mentioned low mood and your PHQ-9 total is below 16."
    )
    assert body["setting_decision"] == {
        "setting": "individual",
        "step": "request",
        "rule": "preferences.setting",
        "overrode": [
            {"rule": "screening.phq9_less_severe_group", "setting": "group", "step": "option"}
        ],
        "agreeing": [],
        "list_follows": False,
    }


def test_no_screening_reports_an_empty_screening_section(client: FlaskClient) -> None:
    body = match(client, {"difficulties": ["grief"]})
    assert body["screening"] == {}
    assert body["safety"] == {"urgent": False, "triggers": [], "review_before_booking": False}
