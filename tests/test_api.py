"""The JSON API contract, from a client's side."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher import responses
from matcher.roster import TherapistRecord
from matcher.web import create_app
from tests.contract import documented_errors
from tests.invariants import assert_valid_match_response

TRAUMA_ES = {
    "difficulties": ["ptsd", "depression"],
    "preferences": {"languages": ["es"], "format": "in_person", "city": "Madrid"},
    "limit": 3,
}


def post(client: FlaskClient, body: Any, path: str = "/api/v1/match") -> tuple[int, Any]:
    response = client.post(path, json=body)
    return response.status_code, response.get_json()


def test_match_recommends_trauma_therapy_and_ranks_spanish_speakers_in_madrid(
    client: FlaskClient,
) -> None:
    status, body = post(client, TRAUMA_ES)
    assert status == 200
    assert_valid_match_response(TRAUMA_ES, body)
    assert {m["id"] for m in body["modalities"][:3]} >= {"tf_cbt", "emdr"}
    assert body["matches"][0]["therapist"]["id"] == "t-001"
    for match in body["matches"]:
        assert "es" in match["therapist"]["languages"]
        assert match["therapist"]["city"] == "Madrid"


def test_every_modality_reason_names_its_rule_answers_and_evidence(client: FlaskClient) -> None:
    _, body = post(client, TRAUMA_ES)
    emdr = next(m for m in body["modalities"] if m["id"] == "emdr")
    reason = emdr["reasons"][0]
    # The intake does not say how long ago the trauma was: EMDR with what a therapist will check.
    assert reason["rule"] == "ptsd.emdr_to_check"
    assert reason["answers"] == ["difficulties:ptsd"]
    assert reason["text"].startswith("Because you mentioned the effects of a traumatic event: EMDR")
    assert reason["evidence"].startswith("NICE NG116: offers EMDR")
    assert reason["sources"][0]["url"] == "https://www.nice.org.uk/guidance/ng116"


def test_chained_rule_explains_the_answers_behind_the_derived_fact(client: FlaskClient) -> None:
    _, body = post(client, {"difficulties": ["panic", "depression"]})
    transdiagnostic = next(m for m in body["modalities"] if m["id"] == "transdiagnostic_cbt")
    reason = transdiagnostic["reasons"][0]
    assert reason["rule"] == "co_occurring.transdiagnostic_cbt"
    assert reason["answers"] == ["difficulties:panic", "difficulties:depression"]
    assert reason["text"].startswith("Because you mentioned panic attacks and low mood:")


def test_match_reasons_are_true_of_the_therapist(client: FlaskClient) -> None:
    _, body = post(client, TRAUMA_ES)
    top = body["matches"][0]
    texts = [r["text"] for r in top["reasons"]]
    assert "Speaks Spanish, as you asked" in texts
    assert "Sees people in person within 25 km of Madrid" in texts
    assert "About 2 km from central Madrid (city centre, not your address)" in texts
    for modality in ("emdr", "tf_cbt"):
        assert modality in top["therapist"]["modalities"]
    assert sum(item["points"] for item in top["score_breakdown"]) == pytest.approx(top["score"])


def test_same_intake_gives_the_same_bytes(client: FlaskClient) -> None:
    first = client.post("/api/v1/match", json=TRAUMA_ES).data
    for _ in range(3):
        assert client.post("/api/v1/match", json=TRAUMA_ES).data == first
    # and the same bytes when nothing is cached: a fresh app, computing from scratch each time
    uncached = create_app({"RESPONSE_CACHE_SIZE": 0}).test_client()
    for _ in range(2):
        assert uncached.post("/api/v1/match", json=TRAUMA_ES).data == first


def test_repeated_requests_are_answered_from_the_response_cache(app: Flask) -> None:
    client = app.test_client()
    cache = app.extensions["response_cache"]
    body = {"difficulties": ["phobia"], "preferences": {"languages": ["fr"]}}
    hits = cache.hits
    first = client.post("/api/v1/match", json=body)
    second = client.post("/api/v1/match", json=body)
    assert second.data == first.data and cache.hits == hits + 1
    assert second.headers["Cache-Control"] == "no-store"
    invalid = {"difficulties": ["phobia"], "limit": 0}
    assert client.post("/api/v1/match", json=invalid).status_code == 422
    assert client.post("/api/v1/match", json=invalid).status_code == 422


def test_spanish_speaker_is_never_matched_to_a_therapist_without_spanish(
    client: FlaskClient,
) -> None:
    _, body = post(
        client, {"difficulties": ["anxiety"], "preferences": {"languages": ["es"]}, "limit": 50}
    )
    assert body["matches"]
    assert all("es" in m["therapist"]["languages"] for m in body["matches"])


def test_therapists_not_accepting_new_clients_are_never_matched(
    client: FlaskClient, matcher: Any
) -> None:
    closed = {t.id for t in matcher.roster.therapists if not t["accepting_new_clients"]}
    _, body = post(client, {"difficulties": ["ptsd"], "limit": 50})
    assert closed and not closed & {m["therapist"]["id"] for m in body["matches"]}


def test_no_match_names_the_constraint_and_offers_labelled_alternatives(
    client: FlaskClient,
) -> None:
    intake = {"difficulties": ["ocd"], "preferences": {"languages": ["sw"]}}
    status, body = post(client, intake)
    assert status == 200
    assert body["matches"] == []
    assert body["no_match"]["constraint"] == "language"
    assert body["no_match"]["text"] == (
        "No therapist matched everything you asked for: of the 43 therapists who meet your "
        "earlier requirements, none speak Swahili."
    )
    assert [r["relaxation"] for r in body["relaxed"]] == ["other_language"]
    alternative = body["relaxed"][0]["matches"][0]
    assert any(c["rule"] == "constraint.language" for c in alternative["caveats"])


def test_in_person_in_a_city_with_nobody_suggests_online(client: FlaskClient) -> None:
    intake = {"difficulties": ["anxiety"], "preferences": {"format": "in_person", "city": "Lisbon"}}
    _, body = post(client, intake)
    assert body["no_match"]["constraint"] == "city"
    assert "none see people in person in Lisbon" in body["no_match"]["text"]
    assert body["relaxed"][0]["relaxation"] == "online_instead"
    assert body["relaxed"][0]["relaxed"] == ["format", "city"]


def test_why_not_lists_every_failed_constraint(client: FlaskClient, matcher: Any) -> None:
    closed = next(t for t in matcher.roster.therapists if not t["accepting_new_clients"])
    intake = {"difficulties": ["grief"], "preferences": {"languages": ["ar"], "setting": "couple"}}
    assert "ar" not in closed["languages"] or "couple" not in closed["settings"]
    status, body = post(client, intake, f"/api/v1/therapists/{closed.id}/why")
    assert status == 200
    assert documented_errors(client, "WhyResponse", body) == []
    assert body["eligible"] is False and body["rank"] is None
    failed = [f["rule"] for f in body["failed"]]
    assert failed[0] == "constraint.accepting"
    assert body["summary"].startswith(f"{closed['name']} is not a match: not accepting new clients")


def test_why_for_a_match_gives_its_rank_and_reasons(client: FlaskClient) -> None:
    _, matched = post(client, TRAUMA_ES)
    second = matched["matches"][1]["therapist"]["id"]
    status, body = post(client, TRAUMA_ES, f"/api/v1/therapists/{second}/why")
    assert status == 200 and body["eligible"] is True
    assert body["rank"] == 2
    assert body["score"] == matched["matches"][1]["score"]
    assert body["reasons"] == matched["matches"][1]["reasons"]


def test_why_for_an_unknown_therapist_is_404(client: FlaskClient) -> None:
    status, body = post(client, TRAUMA_ES, "/api/v1/therapists/t-999/why")
    assert status == 404 and body["message"] == "No therapist with id 't-999'."


def test_the_urgent_path_shows_only_one_to_one_advice_in_match_and_why(
    client: FlaskClient,
) -> None:
    grieving = {"difficulties": ["depression", "grief"], "preferences": {"setting": "group"}}
    _, calm = post(client, grieving)
    assert [(a["rule"], a["setting"]) for a in calm["advice"]] == [
        ("depression.group_requested", "group")
    ]
    assert calm["setting_decision"]["agreeing"] == ["grief.group"]
    group_therapist = calm["matches"][0]["therapist"]["id"]
    assert "Offers groups, which the rules advise for you" in [
        r["text"] for r in calm["matches"][0]["reasons"]
    ]

    urgent = {**grieving, "risk": {"self_harm_thoughts": True}}
    _, body = post(client, urgent)
    assert body["safety"]["urgent"] is True
    assert [(a["rule"], a["setting"]) for a in body["advice"]] == [
        ("risk.individual_first", "individual")
    ]
    for match in body["matches"]:
        assert "Offers groups, which the rules advise for you" not in [
            r["text"] for r in match["reasons"]
        ]
    _, why = post(client, urgent, f"/api/v1/therapists/{group_therapist}/why")
    assert "Offers groups, which the rules advise for you" not in [
        r["text"] for r in why["reasons"]
    ]


@pytest.mark.parametrize(
    ("intake", "errors"),
    [
        ({}, {"difficulties": ["Missing data for required field."]}),
        ({"difficulties": []}, {"difficulties": ["Length must be between 1 and 10."]}),
        (
            {"difficulties": ["sadness"]},
            {
                "difficulties.0": [
                    "Must be one of: anxiety, panic, social_anxiety, phobia, ocd, depression, ptsd, complex_trauma, grief, stress, relationship, family_conflict, emotion_regulation, self_esteem, life_transition, eating_disorder, psychosis, bipolar, substance_use, domestic_abuse, perinatal, something_else."
                ]
            },
        ),
        ({"difficulties": ["grief", "grief"]}, {"difficulties": ["'grief' is listed twice."]}),
        (
            {"difficulties": ["grief"], "preferences": {"format": "in_person"}},
            {"preferences.city": ["Required when format is in_person."]},
        ),
        (
            {"difficulties": ["grief"], "preferences": {"languages": ["ES"]}},
            {
                "preferences.languages.0": [
                    "'ES' is not an ISO 639-1 language code (did you mean 'es'?)."
                ]
            },
        ),
        (
            {"difficulties": ["grief"], "preferences": {"age": "34"}},
            {"preferences.age": ["Not a valid integer."]},
        ),
        (
            {"difficulties": ["grief"], "preferences": {"max_fee": True}},
            {"preferences.max_fee": ["Not a valid integer."]},
        ),
        (
            {"difficulties": ["grief"], "limit": 0},
            {"limit": ["Must be greater than or equal to 1 and less than or equal to 50."]},
        ),
        ({"difficulties": ["grief"], "colour": "blue"}, {"colour": ["Unknown field."]}),
        (
            {"difficulties": ["grief", "ptsd"], "main_difficulty": "ocd"},
            {"main_difficulty": ["'ocd' is not one of the difficulties chosen (grief, ptsd)."]},
        ),
        (
            {"difficulties": ["grief"], "main_difficulty": "sadness"},
            {
                "main_difficulty": [
                    "Must be one of: anxiety, panic, social_anxiety, phobia, ocd, depression, ptsd, complex_trauma, grief, stress, relationship, family_conflict, emotion_regulation, self_esteem, life_transition, eating_disorder, psychosis, bipolar, substance_use, domestic_abuse, perinatal, something_else."
                ]
            },
        ),
        (
            {"difficulties": ["ptsd"], "trauma": {"since": "last_year"}},
            {"trauma.since": ["Must be one of: under_1_month, 1_to_3_months, over_3_months."]},
        ),
        (
            {"difficulties": ["ptsd"], "trauma": {"combat_related": "maybe"}},
            {"trauma.combat_related": ["Not a valid boolean."]},
        ),
        ([1, 2], {"_schema": ["Invalid input type."]}),
    ],
)
def test_invalid_intake_is_422_with_field_paths(
    client: FlaskClient, intake: Any, errors: dict[str, list[str]]
) -> None:
    status, body = post(client, intake)
    assert status == 422
    assert body["errors"] == errors
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/match", data='{"difficulties": [', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("Malformed JSON:")


@pytest.mark.parametrize(
    "body",
    [
        b'{"difficulties": ["grief"], "difficulties": ["ptsd"]}',
        b'{"difficulties": NaN}',
        b"\xff\xfe{}",
    ],
)
def test_duplicate_keys_nan_and_non_utf8_are_400(client: FlaskClient, body: bytes) -> None:
    response = client.post("/api/v1/match", data=body, content_type="application/json")
    assert response.status_code == 400


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    response = client.post("/api/v1/match", data=json.dumps(TRAUMA_ES), content_type="text/plain")
    assert response.status_code == 415
    assert (
        response.get_json()["message"]
        == "Content-Type must be application/json or application/fhir+json, not 'text/plain'."
    )


def test_body_over_64_kib_is_413(client: FlaskClient) -> None:
    body = json.dumps({"difficulties": ["grief"], "pad": "x" * 70_000})
    response = client.post("/api/v1/match", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["code"] == 413


def test_unknown_route_and_wrong_method_are_json(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["code"] == 404
    wrong = client.get("/api/v1/match")
    assert wrong.status_code == 405 and wrong.get_json()["code"] == 405
    assert "POST" in wrong.headers["Allow"]


def test_therapist_listing_filters_and_pages(client: FlaskClient) -> None:
    everyone = client.get("/api/v1/therapists").get_json()
    assert everyone["total"] == len(everyone["therapists"]) >= 40 and everyone["per_page"] == 100
    arabic_online = client.get("/api/v1/therapists?language=ar&format=online").get_json()
    assert arabic_online["total"] > 0
    for therapist in arabic_online["therapists"]:
        assert "ar" in therapist["languages"] and "online" in therapist["formats"]
        assert documented_errors(client, "Therapist", therapist) == []
    madrid = client.get(
        "/api/v1/therapists?city=madrid&modality=emdr&accepting_new_clients=true"
    ).get_json()
    assert madrid["total"] > 0 and all(
        t["city"] == "Madrid" and "emdr" in t["modalities"] and t["accepting_new_clients"]
        for t in madrid["therapists"]
    )
    page = client.get("/api/v1/therapists?per_page=10&page=2").get_json()
    assert [t["id"] for t in page["therapists"]] == [t["id"] for t in everyone["therapists"][10:20]]


def test_therapist_listing_rejects_unknown_filters(client: FlaskClient) -> None:
    response = client.get("/api/v1/therapists?modality=hypnosis&colour=red")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"colour", "modality"}
    response = client.get("/api/v1/therapists?modality=hypnosis")
    assert response.status_code == 422 and "modality" in response.get_json()["errors"]


def test_therapist_profile_and_404(client: FlaskClient) -> None:
    assert client.get("/api/v1/therapists/t-001").get_json()["id"] == "t-001"
    assert client.get("/api/v1/therapists/nobody").status_code == 404


def test_vocabulary_has_the_required_ids(client: FlaskClient) -> None:
    vocabulary = client.get("/api/v1/vocabulary").get_json()
    assert {d["id"] for d in vocabulary["difficulties"]} == {
        "anxiety",
        "panic",
        "social_anxiety",
        "phobia",
        "ocd",
        "depression",
        "ptsd",
        "complex_trauma",
        "grief",
        "stress",
        "relationship",
        "family_conflict",
        "emotion_regulation",
        "self_esteem",
        "life_transition",
        "eating_disorder",
        "psychosis",
        "bipolar",
        "substance_use",
        "domestic_abuse",
        "perinatal",
        "something_else",
    }
    assert {m["id"] for m in vocabulary["modalities"]} == {
        "cbt",
        "tf_cbt",
        "emdr",
        "erp",
        "dbt",
        "ipt",
        "behavioural_activation",
        "applied_relaxation",
        "transdiagnostic_cbt",
        "process_based",
        "psychodynamic",
        "humanistic",
        "couples_therapy",
        "family_therapy",
        "guided_self_help",
        "counselling",
        "mbct",
    }
    assert [s["id"] for s in vocabulary["settings"]] == ["individual", "group", "couple", "family"]
    assert [f["id"] for f in vocabulary["formats"]] == ["online", "in_person"]


def test_modalities_list_the_rules_that_recommend_them(client: FlaskClient) -> None:
    modalities = client.get("/api/v1/modalities").get_json()["modalities"]
    erp = next(m for m in modalities if m["id"] == "erp")
    assert [r["rule"] for r in erp["recommended_by"]] == [
        "ocd.erp",
        "young_people.ocd.erp_with_family",
    ]
    assert erp["therapists"] > 0


def test_openapi_is_generated_from_the_schemas(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/match" in spec["paths"]
    intake = spec["components"]["schemas"]["Intake"]
    assert "ptsd" in intake["properties"]["difficulties"]["items"]["enum"]
    match_response = spec["components"]["schemas"]["MatchResponse"]
    assert set(match_response["properties"]) == set(responses.MatchResponse.__struct_fields__)
    # One therapist shape: the roster's record is the profile the document describes.
    therapist = spec["components"]["schemas"]["Therapist"]
    assert set(therapist["properties"]) == set(TherapistRecord.__struct_fields__)
    # Only what a clinic may hide is optional beyond the roster file's own defaults.
    assert "number" not in spec["components"]["schemas"]["Licence"]["required"]


def test_the_server_never_sends_a_field_its_document_does_not_declare(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matcher.matching import Matcher

    answer = Matcher.match

    def with_an_extra_field(self: Matcher, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**answer(self, *args, **kwargs), "undocumented": True}

    monkeypatch.setattr(Matcher, "match", with_an_extra_field)
    # An intake no other test sends: its answer is not in the response cache.
    intake = {"difficulties": ["grief", "stress", "self_esteem"], "limit": 9}
    response = app.test_client().post("/api/v1/match", json=intake)
    assert response.status_code == 500
    assert "undocumented" not in response.get_data(as_text=True)


def test_healthz_reports_the_rules_version(client: FlaskClient) -> None:
    _, match = post(client, TRAUMA_ES)
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["rules_version"] == match["rules_version"]


def test_clinician_notes_ride_under_the_reason_and_the_advice_never_in_its_text(
    client: FlaskClient,
) -> None:
    _, body = post(
        client, {"difficulties": ["ptsd", "anxiety"], "preferences": {"setting": "group"}}
    )
    emdr = next(m for m in body["modalities"] if m["id"] == "emdr")
    reason = emdr["reasons"][0]
    assert reason["clinician_note"].startswith("Timing not given")
    assert "Timing not given" not in reason["text"]
    assert emdr["first_line_for"] == ["ptsd"]
    assert emdr["placement"]["kind"] == "leading_specific"
    advice = body["advice"]
    assert [(a["rule"], a["setting"], a["step"]) for a in advice] == [
        ("ptsd.tf_cbt", "individual", "condition")
    ]
    assert advice[0]["text"].startswith(
        "You asked for a group; because you mentioned the effects of a traumatic event, "
        "individual sessions first. Individual trauma-focused CBT"
    )
    assert body["setting_decision"]["overrode"] == [
        {"rule": "preferences.setting", "setting": "group", "step": "request"}
    ]


def test_each_reason_gives_its_conditions_apart_and_as_the_strings_clients_read(
    client: FlaskClient,
) -> None:
    intake = {"difficulties": ["depression"], "screening": {"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0]}}
    status, body = post(client, intake)
    assert status == 200
    reasons = [r for m in body["modalities"] for r in m["reasons"]]
    assert reasons
    for reason in reasons:
        written = [
            f"{c['field']}{c['operator'] if c['operator'] in ('>=', '<') else ':'}{c['value']}"
            for c in reason["conditions"]
        ]
        assert written == reason["answers"]
    conditions = [c for r in reasons for c in r["conditions"]]
    assert {"field": "difficulties", "operator": "is", "value": "depression"} in conditions
    assert {"field": "screening.phq9", "operator": "<", "value": 16} in conditions
