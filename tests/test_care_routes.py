"""Care routes, children and young people, groups by topic and weak fits (issue 14, 4 and 6-8)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.errors import ConfigError
from matcher.rules import load_knowledge
from matcher.web import create_app
from tests.databases import app_on, close_database
from tests.files import replace_first
from tests.forms import form_token
from tests.invariants import assert_valid_match_response

ROUTED = [
    "eating_disorder",
    "psychosis",
    "bipolar",
    "substance_use",
    "domestic_abuse",
    "perinatal",
    "something_else",
]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def gb(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    state = tmp_path_factory.mktemp("state")
    return create_app({"TESTING": True, "RATE_LIMIT": "", "STATE_DIR": str(state), "LOCALE": "GB"})


def match(client: FlaskClient, intake: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/match", json=intake)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    assert_valid_match_response(intake, body)
    return body


# --- care routes --------------------------------------------------------------------------------


def test_abuse_at_home_points_to_the_emergency_number_and_the_national_helpline(
    gb: Flask,
) -> None:
    body = match(gb.test_client(), {"difficulties": ["domestic_abuse"]})
    route = body["care_route"]
    assert (route["level"], route["rule"], route["source"]) == (
        "urgent",
        "route.domestic_abuse",
        "NICE PH50",
    )
    assert route["text"].startswith("If you are in danger now, call 999.")
    assert route["text"].endswith("0808 2000 247.")
    assert route["also"] == []
    assert [s["id"] for s in route["sources"]] == ["nice-ph50"]
    # A route is not crisis screening: the safety path is not started by it.
    assert body["safety"]["urgent"] is False
    # Nobody treats abuse at home itself, and an urgent route offers no weak fits instead.
    assert body["matches"] == [] and body["relaxed"] == []


def test_without_a_locale_the_route_names_the_local_emergency_number(client: FlaskClient) -> None:
    route = match(client, {"difficulties": ["domestic_abuse"]})["care_route"]
    assert route["text"].startswith("If you are in danger now, call your local emergency number.")
    assert "0808" not in route["text"]


def test_an_intake_in_scope_can_choose_from_its_matches(client: FlaskClient) -> None:
    body = match(client, {"difficulties": ["grief"]})
    assert body["care_route"]["level"] == "self_match"
    assert body["care_route"]["rule"] == "route.self_match"
    assert body["matches"] and not any(m["review_required"] for m in body["matches"])


def test_abuse_beside_a_couple_request_gets_neither_couples_therapy_nor_couple_sessions(
    client: FlaskClient,
) -> None:
    body = match(
        client,
        {
            "difficulties": ["relationship", "domestic_abuse", "family_conflict"],
            "preferences": {"setting": "couple"},
        },
    )
    assert [m["id"] for m in body["modalities"]] == ["ipt"]
    assert body["advice"] == []
    assert body["matches"]
    for m in body["matches"]:
        assert m["review_required"] is True
        assert m["caveats"][0] == {
            "rule": "route.domestic_abuse",
            "text": "A clinician needs to review this request before booking, because of what "
            "you told us about abuse or someone hurting you",
        }
        assert not any("ouple" in r["text"] for r in m["reasons"])


def test_why_for_a_couples_therapist_beside_abuse_needs_review_and_reads_no_couple_work(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/api/v1/therapists/t-008/why",
        json={
            "difficulties": ["relationship", "domestic_abuse"],
            "preferences": {"setting": "couple"},
        },
    )
    body = response.get_json()
    assert body["review_required"] is True
    assert body["summary"].endswith(
        "A clinician reviews this request before any booking (care route)."
    )
    # The couple request is set aside; t-008 also sees people one to one, so she may be seen.
    assert [c["constraint"] for c in body["checks"]] == [
        "accepting",
        "licensure",
        "confirmed",
        "advised_setting",
        "fit",
    ]
    assert not any("ouples therapy" in r["text"] for r in body["reasons"])


def test_beside_abuse_a_therapist_who_sees_only_couples_and_families_is_never_matched(
    client: FlaskClient,
) -> None:
    intake = {
        "difficulties": ["family_conflict", "domestic_abuse"],
        "preferences": {"setting": "family"},
    }
    body = match(client, intake)
    assert body["matches"] and all(
        set(m["therapist"]["settings"]) - {"couple", "family"} for m in body["matches"]
    )
    why = client.post("/api/v1/therapists/t-047/why", json=intake).get_json()
    assert [f["text"] for f in why["failed"]] == [
        "Does not offer individual sessions or groups, which the rules advise for you "
        "(offers couple sessions and family sessions)"
    ]


def test_a_young_person_telling_us_about_abuse_gets_a_person_not_a_list(
    client: FlaskClient,
) -> None:
    body = match(
        client,
        {
            "difficulties": ["family_conflict", "domestic_abuse"],
            "preferences": {"age": 12},
            "location": {"country": "GB"},
        },
    )
    route = body["care_route"]
    assert (route["rule"], route["level"], route["also"]) == (
        "route.domestic_abuse_young_person",
        "urgent",
        [],
    )
    assert route["text"].startswith("Thank you for telling us. What is happening is not your fault")
    assert route["text"].endswith(
        "Childline is free and open day and night, and will not show on the phone bill: call 0800 1111."
    )
    assert (body["matches"], body["relaxed"], body["no_match"]) == ([], [], None)


def test_on_the_form_a_route_that_lists_nobody_invites_a_way_to_reach_the_person(
    client: FlaskClient,
) -> None:
    token = form_token(client.get("/form").get_data(as_text=True))
    page = client.post(
        "/results",
        data={
            "csrf_token": token,
            "difficulties": ["family_conflict", "domestic_abuse"],
            "self_harm_thoughts": "no",
            "age": "12",
            "format": "online",
        },
    ).get_data(as_text=True)
    assert 'id="care-route"' in page and 'id="follow-up-invitation"' in page
    assert "Ask the clinic to contact me" in page


@pytest.mark.parametrize("routed", ROUTED)
def test_every_route_out_of_scope_comes_with_review_and_a_source_beside_any_difficulty(
    client: FlaskClient, routed: str
) -> None:
    vocabulary = client.get("/api/v1/vocabulary").get_json()
    for other in [d["id"] for d in vocabulary["difficulties"]]:
        for setting in ("any", "couple"):
            body = match(
                client,
                {"difficulties": sorted({routed, other}), "preferences": {"setting": setting}},
            )
            route = body["care_route"]
            assert route["level"] != "self_match" and route["source"] and route["evidence"]
            rules = [route["rule"], *(r["rule"] for r in route["also"])]
            assert f"route.{routed}" in rules
            levels = [route["level"], *(r["level"] for r in route["also"])]
            order = ["self_match", "clinician_review", "specialist", "urgent"]
            assert levels == sorted(levels, key=order.index, reverse=True)
            shown = body["matches"] + [m for r in body["relaxed"] for m in r["matches"]]
            assert all(m["review_required"] for m in shown)
            if route["level"] in ("specialist", "urgent"):
                assert body["relaxed"] == []


def test_a_broken_route_file_is_named_in_one_line(rules_copy: Path) -> None:
    path = rules_copy / "care_routes.yaml"
    cases = [
        (
            "      difficulty: eating_disorder\n",
            "      difficulty: eating_disorders\n",
            "rules/care_routes.yaml: route 'route.eating_disorder': when.difficulty: "
            "'eating_disorders' is not in the vocabulary",
        ),
        (
            "    level: specialist\n",
            "    level: soon\n",
            "rules/care_routes.yaml: route 'route.children_service': field 'level': "
            "Must be one of: clinician_review, specialist, urgent.",
        ),
        (
            "      - source: nice-ng69\n",
            "      - source: nice-ng70\n",
            "rules/care_routes.yaml: route 'route.eating_disorder': evidence: unknown source "
            "'nice-ng70' (add it to sources.yaml)",
        ),
        (
            "call {emergency} in an emergency",
            "call {helpline} in an emergency",
            "rules/care_routes.yaml: route 'route.eating_disorder': text: unknown placeholder "
            "{helpline} (use {emergency})",
        ),
        (
            "      modalities: [couples_therapy, family_therapy]",
            "      modalities: [couple_therapy]",
            "rules/care_routes.yaml: route 'route.domestic_abuse_young_person': "
            "withhold.modalities: 'couple_therapy' is not in the vocabulary",
        ),
    ]
    original = path.read_text(encoding="utf-8")
    for old, new, message in cases:
        path.write_text(original, encoding="utf-8")
        replace_first(path, old, new)
        with pytest.raises(ConfigError) as raised:
            load_knowledge(rules_copy)
        assert str(raised.value) == message


# --- children and young people -----------------------------------------------------------------


def test_a_fifteen_year_old_with_social_anxiety_asking_for_a_group_is_told_a_group_fits(
    client: FlaskClient,
) -> None:
    body = match(
        client, {"difficulties": ["social_anxiety"], "preferences": {"age": 15, "setting": "group"}}
    )
    assert [m["id"] for m in body["modalities"]] == ["cbt"]
    assert [a["rule"] for a in body["advice"]] == ["young_people.social_anxiety.group_requested"]
    reason = body["modalities"][0]["reasons"][0]
    assert reason["answers"] == ["difficulties:social_anxiety", "age:young_person"]
    assert reason["text"].startswith(
        "Because you mentioned social anxiety and you are under 18: For young people with "
        "social anxiety, NICE recommends CBT"
    )
    # No group for social anxiety sees 15 year olds: no adult-only group is offered instead.
    assert body["matches"] == []
    assert all(m["therapist"]["ages"]["min"] <= 15 for r in body["relaxed"] for m in r["matches"])


def test_under_the_youngest_age_on_the_roster_the_route_is_a_childrens_service(
    client: FlaskClient,
) -> None:
    body = match(client, {"difficulties": ["ptsd"], "preferences": {"age": 9}})
    assert body["care_route"]["level"] == "specialist"
    assert body["care_route"]["rule"] == "route.children_service"
    assert [m["id"] for m in body["modalities"]] == ["tf_cbt"]
    assert [a["rule"] for a in body["alerts"]] == ["young_people.ptsd.emdr_later"]
    assert body["matches"] == [] and body["relaxed"] == []


# The adult low-mood rules (NICE NG222) and their PHQ-9 steps, written here independently of the
# rules: no age under 18 may read one of them (NG134 covers 5 to 18).
ADULT_LOW_MOOD_RULES = {
    "depression.cbt",
    "depression.behavioural_activation",
    "depression.guided_self_help",
    "depression.counselling",
    "depression.counselling_more_severe",
    "depression.mbct",
    "depression.ipt",
    "depression.ipt_more_severe",
    "depression.psychodynamic",
    "depression.group_requested",
    "screening.phq9_more_severe_individual",
    "screening.phq9_high_individual",
    "screening.phq9_less_severe_group",
    "screening.phq9_gp_review",
    "screening.phq9_high_gp_review",
}
LOW_MOOD_ANSWERS: dict[str, dict[str, Any]] = {
    "no_answers": {},
    "phq9_17": {"screening": {"phq9": [2, 2, 2, 2, 2, 2, 2, 3, 0]}},
    "phq9_12": {"screening": {"phq9": [2, 2, 2, 2, 2, 1, 1, 0, 0]}},
    "phq9_7_asks_for_a_group": {
        "screening": {"phq9": [1, 1, 1, 1, 1, 1, 1, 0, 0]},
        "preferences": {"setting": "group"},
    },
}


def rules_read(body: dict[str, Any]) -> set[str]:
    """Every rule whose words the person reads: reasons, advice and alerts."""
    return {
        *(r["rule"] for m in body["modalities"] for r in m["reasons"]),
        *(a["rule"] for a in body["advice"]),
        *(a["rule"] for a in body["alerts"]),
    }


@pytest.mark.parametrize("answers", LOW_MOOD_ANSWERS, ids=list(LOW_MOOD_ANSWERS))
def test_low_mood_at_every_age_under_18_follows_ng134_by_age_band_never_the_adult_rules(
    client: FlaskClient, answers: str
) -> None:
    extra = LOW_MOOD_ANSWERS[answers]
    for age in range(18):
        preferences = {**extra.get("preferences", {}), "age": age}
        body = match(client, {"difficulties": ["depression"], **extra, "preferences": preferences})
        read = rules_read(body)
        assert read & ADULT_LOW_MOOD_RULES == set(), (age, read & ADULT_LOW_MOOD_RULES)
        ids = [m["id"] for m in body["modalities"]]
        first_lines = [m["id"] for m in body["modalities"] if m["first_line_for"]]
        if age < 12:  # children: four options to consider, none of them first
            assert ids == ["ipt", "family_therapy", "cbt", "psychodynamic"], (age, ids)
            assert first_lines == [], age
            assert "young_people.child_depression.choose_together" in read, age
        else:  # young people: individual CBT first
            assert ids[0] == "cbt" and first_lines == ["cbt"], (age, ids)
            assert not any(r.startswith("young_people.child") for r in read), (age, read)


def test_the_adult_age_is_configuration(tmp_path: Path) -> None:
    app = create_app(
        {"TESTING": True, "RATE_LIMIT": "", "STATE_DIR": str(tmp_path), "ADULT_AGE": 16}
    )
    client = app.test_client()
    adult = match(client, {"difficulties": ["ptsd"], "preferences": {"age": 17}})
    assert [m["id"] for m in adult["modalities"]] == ["tf_cbt", "emdr"]
    young = match(client, {"difficulties": ["ptsd"], "preferences": {"age": 15}})
    assert [m["id"] for m in young["modalities"]] == ["tf_cbt"]
    assert "you are under 16" in young["modalities"][0]["reasons"][0]["text"]


@pytest.mark.parametrize("value", [0, "18", True, 121])
def test_an_adult_age_that_is_not_a_number_of_years_stops_start_up(
    tmp_path: Path, value: object
) -> None:
    with pytest.raises(ConfigError) as raised:
        create_app({"TESTING": True, "STATE_DIR": str(tmp_path), "ADULT_AGE": value})
    assert str(raised.value) == (
        f"MATCHER_ADULT_AGE: must be a whole number of years, not {value!r}"
    )


AGES = [5, 7, 11, 12, 15, 17]
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"setting": "group"},
    {"setting": "family"},
    {"format": "in_person", "city": "Madrid"},
    {"languages": ["ko"]},
    {"max_fee": 10},
]


def test_no_child_or_young_person_is_ever_offered_an_adult_only_therapist(
    client: FlaskClient,
) -> None:
    """Property: over every difficulty, age under 18 and context, matches and alternatives."""
    vocabulary = client.get("/api/v1/vocabulary").get_json()
    ids = [d["id"] for d in vocabulary["difficulties"]]
    wrong = []
    for difficulty, age, context in itertools.product(ids, AGES, CONTEXTS):
        intake = {"difficulties": [difficulty], "preferences": {**context, "age": age}}
        body = client.post("/api/v1/match", json=intake).get_json()
        shown = body["matches"] + [m for r in body["relaxed"] for m in r["matches"]]
        for m in shown:
            ages = m["therapist"]["ages"]
            if not ages["min"] <= age <= ages["max"]:
                wrong.append(f"{intake}: {m['therapist']['id']} sees {ages}")
        routes = [body["care_route"]["rule"], *(r["rule"] for r in body["care_route"]["also"])]
        urgent = body["care_route"]["level"] == "urgent"  # abuse at home comes before it
        if age < 12 and routes[urgent:][:1] != ["route.children_service"]:
            wrong.append(f"{intake}: the children's service route does not lead: {routes}")
        if body["care_route"]["level"] != "self_match" and not all(
            m["review_required"] for m in shown
        ):
            wrong.append(f"{intake}: a match without review beside {body['care_route']['rule']}")
    assert wrong == []


def test_a_rule_that_replaces_an_unknown_rule_is_named(rules_copy: Path) -> None:
    replace_first(
        rules_copy / "clinical" / "young_people.yaml",
        "replaces: [ocd.erp, ocd.cbt]",
        "replaces: [ocd.erp, ocd.exposure]",
    )
    with pytest.raises(ConfigError) as raised:
        load_knowledge(rules_copy)
    assert str(raised.value) == (
        "rules/clinical/young_people.yaml: rule 'young_people.ocd.erp_with_family': "
        "replaces: no other rule 'ocd.exposure'"
    )


# --- groups by topic and weak fits --------------------------------------------------------------


def test_a_group_request_is_met_only_by_a_group_for_one_of_the_difficulties(
    client: FlaskClient,
) -> None:
    body = match(client, {"difficulties": ["panic"], "preferences": {"setting": "group"}})
    assert body["matches"] == []
    assert body["no_match"]["constraint"] == "group_topic"
    assert body["no_match"]["text"] == (
        "No therapist matched everything you asked for: of the 12 therapists who meet your "
        "earlier requirements, none run a group for panic attacks."
    )
    why = client.post(
        "/api/v1/therapists/t-011/why",
        json={"difficulties": ["panic"], "preferences": {"setting": "group"}},
    ).get_json()
    assert why["failed"] == [
        {
            "rule": "constraint.group_topic",
            "text": "Runs no group for panic attacks (runs a 6-week stress and burnout group, "
            "Mondays 19:00-20:30 (in person): “Stress less: an applied relaxation group”)",
        }
    ]


def test_a_matching_group_is_named_with_its_length_and_day(client: FlaskClient) -> None:
    body = match(
        client,
        {
            "difficulties": ["grief", "panic"],
            "preferences": {"setting": "group", "format": "in_person", "city": "New York"},
        },
    )
    assert [m["therapist"]["id"] for m in body["matches"]] == ["t-045"]
    assert {
        "rule": "constraint.group_topic",
        "text": "Runs a 10-week grief and loss group, Tuesdays 18:00-19:30 (in person): "
        "“After loss: a grief support group”",
    } in body["matches"][0]["reasons"]


def test_weak_fits_are_offered_only_as_a_named_relaxation(client: FlaskClient) -> None:
    # Nobody in Berlin in person fits worry: the weak fits come after the other relaxations.
    body = match(
        client,
        {"difficulties": ["anxiety"], "preferences": {"format": "in_person", "city": "Berlin"}},
    )
    assert body["matches"] == []
    assert body["no_match"]["constraint"] == "fit"
    assert [r["relaxation"] for r in body["relaxed"]] == [
        "online_instead",
        "farther_away",
        "weak_fit",
    ]
    assert body["relaxed"][2]["text"].startswith(
        "Includes therapists who meet your practical needs but neither practise an approach "
        "recommended for you nor list what you told us about"
    )


def test_something_not_listed_offers_no_alternatives_before_the_clinician_talks_to_them(
    client: FlaskClient,
) -> None:
    body = match(client, {"difficulties": ["something_else"], "preferences": {"languages": ["en"]}})
    assert body["care_route"]["rule"] == "route.something_else"
    assert body["matches"] == []
    assert body["no_match"]["constraint"] == "fit"
    assert body["relaxed"] == []


@pytest.mark.parametrize(
    "intake",
    [
        {"difficulties": ["ocd"], "preferences": {"age": 12}},
        {"difficulties": ["complex_trauma"], "preferences": {"age": 15}},
    ],
)
def test_a_young_person_is_never_offered_weak_fits(
    client: FlaskClient, intake: dict[str, Any]
) -> None:
    body = match(client, intake)
    assert body["matches"] == []
    assert body["no_match"]["constraint"] == "fit"
    assert body["relaxed"] == []
    # Not only the funnel: a young people's service and a person from the clinic.
    assert body["care_route"]["rule"] == "route.young_person_no_match"
    assert body["care_route"]["level"] == "clinician_review"
    assert body["care_route"]["lists_matches"] is False
    assert "children and young people's mental health service" in body["care_route"]["text"]


def test_no_match_lists_a_therapist_who_neither_practises_nor_lists_what_fits(
    client: FlaskClient,
) -> None:
    vocabulary = client.get("/api/v1/vocabulary").get_json()
    roster = client.get("/api/v1/therapists?per_page=100").get_json()["therapists"]
    by_id = {t["id"]: t for t in roster}
    for difficulty in [d["id"] for d in vocabulary["difficulties"]]:
        body = match(client, {"difficulties": [difficulty], "limit": 50})
        recommended = {m["id"] for m in body["modalities"]}
        for m in body["matches"]:
            therapist = by_id[m["therapist"]["id"]]
            assert (
                recommended & set(therapist["modalities"])
                or difficulty in therapist["difficulties"]
            )


# --- the referral queue -------------------------------------------------------------------------


@pytest.fixture()
def queue_app(tmp_path: Path) -> Iterator[Flask]:
    app = app_on(f"sqlite:///{tmp_path / 'referrals.db'}", tmp_path, SECRET_KEY="k" * 32)
    app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
    yield app
    close_database(app)


def test_a_referral_with_a_care_route_is_flagged_for_review_in_the_queue(queue_app: Flask) -> None:
    client = queue_app.test_client()
    ids = {}
    for name, difficulties in (("Ann", ["grief"]), ("Bea", ["eating_disorder", "depression"])):
        response = client.post(
            "/api/v1/referrals",
            json={
                "intake": {"difficulties": difficulties},
                "contact": {"name": name, "email": "x@example.org"},
                "consent": True,
            },
        )
        assert response.status_code == 201
        ids[name] = response.get_json()["id"]
    stored = queue_app.extensions["referrals"].get(ids["Bea"])
    assert (stored["needs_review"], stored["care_route"]) == (True, "specialist")
    assert queue_app.extensions["referrals"].get(ids["Ann"])["needs_review"] is False
    desk = queue_app.test_client()
    page = desk.get("/staff/login").get_data(as_text=True)
    desk.post(
        "/staff/login",
        data={
            "username": "desk",
            "password": PASSWORD,
            "csrf_token": form_token(page),
            "next": "/staff",
        },
    )
    html = desk.get("/staff/referrals").get_data(as_text=True)
    # Bea came second but needs review: she is listed first, marked.
    assert html.index(f"referral-{ids['Bea']}") < html.index(f"referral-{ids['Ann']}")
    assert "NEEDS REVIEW (specialist)" in html
    only = desk.get("/staff/referrals?review=yes").get_data(as_text=True)
    assert f"referral-{ids['Bea']}" in only and f"referral-{ids['Ann']}" not in only
    assert desk.get("/staff/referrals?review=maybe").status_code == 400


# --- pages --------------------------------------------------------------------------------------


def test_the_results_page_says_what_to_do_first_before_any_therapist(gb: Flask) -> None:
    client = gb.test_client()
    page = client.get("/form").get_data(as_text=True)  # "/" starts the stepped form
    response = client.post(
        "/results",
        data={
            "difficulties": ["domestic_abuse", "depression"],
            "languages": "en",
            "csrf_token": form_token(page),
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<h2 id="care-route-title">What to do first</h2>' in html
    assert html.index('id="care-route"') < html.index('id="modalities-title"')
    assert html.index('id="care-route"') < html.index('id="matches-title"')
    assert "If you are in danger now, call 999." in html
    assert "A clinician from the clinic reviews your request before any booking." in html


def test_the_results_page_shows_no_route_for_an_intake_in_scope(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    html = client.post(
        "/results", data={"difficulties": "grief", "csrf_token": form_token(page)}
    ).get_data(as_text=True)
    assert 'id="care-route"' not in html


def test_the_console_shows_the_route_and_its_rule_before_the_matches(tmp_path: Path) -> None:
    app = app_on(f"sqlite:///{tmp_path / 'console.db'}", tmp_path, SECRET_KEY="k" * 32)
    try:
        app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
        staff = app.test_client()
        page = staff.get("/staff/login").get_data(as_text=True)
        staff.post(
            "/staff/login",
            data={
                "username": "desk",
                "password": PASSWORD,
                "csrf_token": form_token(page),
                "next": "/staff",
            },
        )
        token = form_token(staff.get("/staff").get_data(as_text=True))
        html = staff.post(
            "/staff",
            data={"difficulties": ["psychosis", "anxiety"], "csrf_token": token, "action": "match"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert '<h3 id="care-route-title">Care route: specialist</h3>' in html
        assert "(route.psychosis; NICE CG178; NHS Talking Therapies Manual)" in html
        assert html.index('id="care-route"') < html.index('class="ranked"')
    finally:
        close_database(app)
