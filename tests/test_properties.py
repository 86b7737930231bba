"""Property-based: for any valid intake, no hard constraint is broken and the answer is stable."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import PROJECT_ROOT, responses
from matcher.matching import Matcher
from matcher.rules import load_knowledge
from matcher.web.respond import encode
from tests.examples import examples
from tests.invariants import (
    assert_valid_match_response,
    freshness_violation,
    licensure_violation,
)

VOCABULARY = load_knowledge(PROJECT_ROOT / "rules").vocabulary


@pytest.fixture(scope="module")
def uncached(matcher: Matcher) -> Matcher:
    """A second Matcher on the same rules and roster that evaluates every intake afresh."""
    return Matcher(matcher.knowledge, matcher.roster, cache_size=0, today=matcher.today)


CITIES = [
    "Madrid",
    "madrid",
    "Amsterdam",
    "London",
    "Berlin",
    "Paris",
    "New York",
    "Lisbon",
    "Málaga",
    "London, UK",
    "Croydon",
    "croydon, london",
    "CR0 1NX",
    "SW19",
    "Jersey City, NJ",
    "Den-Haag",
]
# How people pay: self-pay with or without a currency, and plans of several schemes (a payer
# given by name, by id, or left out where the scheme allows).
PAYMENTS = [
    {"method": "self_pay"},
    {"method": "self_pay", "currency": "GBP"},
    {"method": "self_pay", "currency": "USD"},
    {"method": "insurance", "scheme": "us_commercial", "payer": "Aetna"},
    {"method": "insurance", "scheme": "us_commercial", "payer": "cigna"},
    {"method": "insurance", "scheme": "us_medicare"},
    {"method": "insurance", "scheme": "nl_basic", "payer": "vgz"},
    {"method": "insurance", "scheme": "de_statutory"},
    {"method": "insurance", "scheme": "gb_nhs"},
    {"method": "insurance", "scheme": "gb_private", "payer": "bupa"},
]
LANGUAGES = ["en", "es", "nl", "ar", "fr", "de", "pt", "it", "tr", "sw", "ja", "bfi", "ase"]
# Where people will be: the roster's countries and states, a compact state (NJ, PA), a state no
# one is licensed in, a country with regions but none given, a region of a country-wide licence.
LOCATIONS = [
    {"country": "US", "region": "US-NJ"},
    {"country": "US", "region": "US-NY"},
    {"country": "US", "region": "US-PA"},
    {"country": "US", "region": "US-OH"},
    {"country": "US", "region": "US-CA"},
    {"country": "US"},
    {"country": "GB"},
    {"country": "GB", "region": "GB-SCT", "city": "Glasgow"},
    {"country": "GB", "region": "GB-ENG", "postcode": "M1 1AA"},
    {"country": "ES", "region": "ES-MD"},
    {"country": "NL"},
    {"country": "DE", "region": "DE-BE"},
    {"country": "FR"},
    {"country": "PT"},
]


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, Any]:
    difficulties = draw(
        st.lists(
            st.sampled_from(list(VOCABULARY.difficulties)), min_size=1, max_size=10, unique=True
        )
    )
    preferences: dict[str, Any] = {}
    if draw(st.booleans()):
        preferences["languages"] = draw(
            st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=3, unique=True)
        )
    fmt = draw(st.sampled_from(["any", "online", "in_person", None]))
    if fmt:
        preferences["format"] = fmt
    if fmt == "in_person" or draw(st.booleans()):
        preferences["city"] = draw(st.sampled_from(CITIES))
    setting = draw(st.sampled_from(["any", *VOCABULARY.settings, None]))
    if setting:
        preferences["setting"] = setting
    for name, strategy in {
        "age": st.integers(0, 120),
        "max_fee": st.integers(0, 200),
        "therapist_gender": st.sampled_from(["any", *VOCABULARY.genders]),
        "times": st.lists(
            st.sampled_from(list(VOCABULARY.times)), min_size=1, max_size=4, unique=True
        ),
        "access": st.lists(
            st.sampled_from(list(VOCABULARY.access)), min_size=1, max_size=3, unique=True
        ),
        "interpreter": st.sampled_from(["bfi", "ar", "uk", "ase"]),
        "affirming": st.lists(
            st.sampled_from(list(VOCABULARY.affirming)), min_size=1, max_size=2, unique=True
        ),
        "identity": st.lists(
            st.sampled_from(list(VOCABULARY.identities)), min_size=1, max_size=2, unique=True
        ),
        "max_distance_km": st.integers(1, 500),
    }.items():
        if draw(st.booleans()):
            preferences[name] = draw(strategy)
    if draw(st.booleans()):
        payment = dict(draw(st.sampled_from(PAYMENTS)))
        if payment["method"] == "insurance":
            preferences.pop("max_fee", None)  # a budget is for self-pay (a 422 otherwise)
        elif "max_fee" in preferences and draw(st.booleans()):
            payment["max_fee"] = preferences.pop("max_fee")
        preferences["payment"] = payment
    intake: dict[str, Any] = {"difficulties": difficulties}
    if draw(st.booleans()):
        intake["location"] = draw(st.sampled_from(LOCATIONS))
    if draw(st.booleans()):
        intake["main_difficulty"] = draw(st.sampled_from(difficulties))
    if draw(st.booleans()):
        trauma: dict[str, Any] = {}
        if draw(st.booleans()):
            trauma["since"] = draw(
                st.sampled_from(["under_1_month", "1_to_3_months", "over_3_months"])
            )
        if draw(st.booleans()):
            trauma["combat_related"] = draw(st.booleans())
        intake["trauma"] = trauma
    screening: dict[str, Any] = {}
    if draw(st.booleans()):
        screening["phq9"] = draw(st.lists(st.integers(0, 3), min_size=9, max_size=9))
    if draw(st.booleans()):
        screening["gad7"] = draw(st.lists(st.integers(0, 3), min_size=7, max_size=7))
    if "phq9" in screening and draw(st.booleans()):  # it follows the nine answers
        screening["phq9_difficulty"] = draw(st.integers(0, 3))
    if screening:
        intake["screening"] = screening
    if draw(st.booleans()):
        intake["risk"] = {"self_harm_thoughts": draw(st.booleans())}
    if preferences or draw(st.booleans()):
        intake["preferences"] = preferences
    if draw(st.booleans()):
        intake["limit"] = draw(st.integers(1, 50))
    return intake


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(intake=intakes())
def test_no_valid_intake_breaks_a_hard_constraint_or_the_schema(
    app: Flask, client: FlaskClient, uncached: Matcher, intake: dict[str, Any]
) -> None:
    response = client.post("/api/v1/match", json=intake)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert_valid_match_response(intake, body)
    assert client.post("/api/v1/match", json=intake).data == response.data
    # computed again by a Matcher with no clinical cache, and no response cache in the way
    assert encode(uncached.match(intake), responses.MatchResponse) == response.data
    phq9 = (intake.get("screening") or {}).get("phq9")
    urgent = (
        bool(phq9 and phq9[8] > 0) or (intake.get("risk") or {}).get("self_harm_thoughts") is True
    )
    assert body["safety"]["urgent"] is urgent
    levels = [alert["level"] for alert in body["alerts"]]
    assert (levels[:1] == ["urgent"]) is urgent
    assert "urgent" not in levels[1:]


@settings(
    max_examples=examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(intake=intakes(), therapist=st.integers(1, 51))
def test_why_agrees_with_match(client: FlaskClient, intake: dict[str, Any], therapist: int) -> None:
    therapist_id = f"t-{therapist:03d}"
    matched = client.post("/api/v1/match", json={**intake, "limit": 50}).get_json()
    why = client.post(f"/api/v1/therapists/{therapist_id}/why", json=intake).get_json()
    ids = [m["therapist"]["id"] for m in matched["matches"]]
    if why["eligible"]:
        assert why["rank"] is not None
        if why["rank"] <= 50:
            assert ids[why["rank"] - 1] == therapist_id
    else:
        assert therapist_id not in ids and why["failed"]
    # Licensure and freshness are checked for everyone, and agree with an independent reading.
    checks = {c["constraint"]: c["passed"] for c in why["checks"]}
    assert checks["licensure"] is (licensure_violation(intake, why["therapist"]) is None)
    assert checks["confirmed"] is (freshness_violation(why["therapist"]) is None)


# The treatments each guideline names first for its condition (issue 14): NG116 for trauma, CG31
# for OCD, CG159 for social anxiety, CG113 for panic and for worry (GAD), NG222 for low mood.
# Written here independently of the rules, so that a rule file that drops a `first_line` fails.
FIRST_LINE = {
    "ptsd": {"tf_cbt"},
    "complex_trauma": {"tf_cbt"},
    "ocd": {"erp"},
    "social_anxiety": {"cbt"},
    "panic": {"cbt"},
    "anxiety": {"cbt"},
    "depression": {"cbt", "behavioural_activation"},
}
# Without a main difficulty, the first of these picked leads (rules/clinical/co_occurring.yaml).
MOST_SPECIFIC = ["ptsd", "complex_trauma", "ocd", "social_anxiety", "panic"]
PHQ9_17 = [2, 2, 2, 2, 2, 2, 2, 3, 0]
PHQ9_7 = [1, 1, 1, 1, 1, 1, 1, 0, 0]
PHQ9_15 = [2, 2, 2, 2, 2, 2, 2, 1, 0]
GAD7_18 = [3, 3, 3, 3, 2, 2, 2]
GAD7_6 = [1, 1, 1, 1, 1, 1, 0]
CONTEXTS: dict[str, dict[str, Any]] = {
    "no_answers": {},
    "asks_for_a_group": {"preferences": {"setting": "group"}},
    "asks_for_individual_sessions": {"preferences": {"setting": "individual"}},
    "asks_for_couple_sessions": {"preferences": {"setting": "couple"}},
    "phq9_17": {"screening": {"phq9": PHQ9_17}},
    "phq9_15_very_difficult": {"screening": {"phq9": PHQ9_15, "phq9_difficulty": 2}},
    "phq9_7_asks_for_a_group": {
        "screening": {"phq9": PHQ9_7},
        "preferences": {"setting": "group"},
    },
    "phq9_7_gad7_18": {"screening": {"phq9": PHQ9_7, "gad7": GAD7_18}},
    "phq9_7_gad7_6": {"screening": {"phq9": PHQ9_7, "gad7": GAD7_6}},
    "trauma_under_a_month_in_combat": {
        "trauma": {"since": "under_1_month", "combat_related": True}
    },
    "self_harm_thoughts_asks_for_a_group": {
        "risk": {"self_harm_thoughts": True},
        "preferences": {"setting": "group"},
    },
}


def combinations_of_difficulties() -> list[list[str]]:
    ids = list(VOCABULARY.difficulties)
    # Difficulties with a care route (tests/test_care_routes.py covers them beside every other
    # difficulty) join the pairs; the triples are of the difficulties people match themselves to.
    routed = {"eating_disorder", "psychosis", "bipolar", "substance_use", "domestic_abuse"}
    routed |= {"perinatal", "something_else"}
    in_scope = [i for i in ids if i not in routed]
    return [
        *(list(c) for c in itertools.combinations(ids, 2)),
        *(list(c) for c in itertools.combinations(in_scope, 3)),
    ]


def precedence_problems(intake: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """What is wrong with one answer's order and setting advice; empty when all is well."""
    difficulties = intake["difficulties"]
    wrong = []
    settings = {a["setting"] for a in body["advice"]}
    if len(body["advice"]) > 1 or len(settings) > 1:
        wrong.append(f"advice for {sorted(settings)}")
    decision = body["setting_decision"]
    if (decision is None) != (not body["advice"]) or (
        decision and decision["setting"] != body["advice"][0]["setting"]
    ):
        wrong.append(f"setting decision {decision} disagrees with the advice {body['advice']}")
    ranked = body["modalities"]
    ids = [m["id"] for m in ranked]
    # An approach done with others by its nature steps below the rest when the decision binds
    # the list (one to one first): only then, and below everything else.
    stepped = [m["id"] for m in ranked if m["placement"]["kind"] == "after_setting"]
    if stepped and ids[-len(stepped) :] != stepped:
        wrong.append(f"{stepped} stepped down but not last in {ids}")
    for modality in stepped:
        done_in = VOCABULARY.modalities[modality].setting
        if not (decision and decision["list_follows"] and done_in != decision["setting"]):
            wrong.append(f"{modality} ({done_in}) stepped down beside {decision}")
    for modality in ranked:
        done_in = VOCABULARY.modalities[modality["id"]].setting
        binding = decision and decision["list_follows"] and decision["setting"]
        if binding and done_in and done_in != binding and modality["id"] not in stepped:
            wrong.append(f"{modality['id']} ({done_in}) not stepped down beside {decision}")
    ranked = [m for m in ranked if m["id"] not in stepped]
    for position, modality in enumerate(ranked):
        for difficulty in modality["first_line_for"]:
            generic = [m["id"] for m in ranked[:position] if not m["first_line_for"]]
            if generic:
                wrong.append(
                    f"{generic} (generic) above {modality['id']}, first line of {difficulty}"
                )
    for difficulty in difficulties:
        for modality in FIRST_LINE.get(difficulty, set()) & set(ids):
            named = next(m for m in ranked if m["id"] == modality)["first_line_for"]
            if difficulty not in named:
                wrong.append(f"{modality} is not marked first line of {difficulty}")
    leading = intake.get("main_difficulty") or next(
        (d for d in MOST_SPECIFIC if d in difficulties), None
    )
    expected_first = FIRST_LINE.get(leading or "", set()) & set(ids)
    if expected_first and ids[0] not in expected_first:
        wrong.append(f"{ids[0]} leads, not the first line of {leading} ({sorted(expected_first)})")
    return wrong


@pytest.mark.slow  # exhaustive: every pair and triple of difficulties, in each context
@pytest.mark.parametrize("context", CONTEXTS, ids=list(CONTEXTS))
def test_every_pair_and_triple_gets_one_setting_and_first_line_treatments_first(
    matcher: Matcher, context: str
) -> None:
    wrong = []
    for difficulties in combinations_of_difficulties():
        intake = {"difficulties": difficulties, **CONTEXTS[context]}
        wrong += [
            f"{difficulties}: {p}" for p in precedence_problems(intake, matcher.match(intake))
        ]
    assert wrong == []


@pytest.mark.slow  # exhaustive: every pair and triple of difficulties, with each as the main one
@pytest.mark.parametrize("context", ["no_answers", "asks_for_a_group", "phq9_17"])
def test_with_a_main_difficulty_its_first_line_treatment_leads_every_pair_and_triple(
    matcher: Matcher, context: str
) -> None:
    wrong = []
    for difficulties in combinations_of_difficulties():
        for main in difficulties:
            intake = {"difficulties": difficulties, "main_difficulty": main, **CONTEXTS[context]}
            problems = precedence_problems(intake, matcher.match(intake))
            wrong += [f"{difficulties}, main {main}: {p}" for p in problems]
    assert wrong == []


# Words that name a condition, and the difficulties a person must have picked to read them.
CONDITION_WORDS = {
    "depress": {"depression"},  # depression, depressive, antidepressant
    "ptsd": {"ptsd", "complex_trauma"},
    "trauma": {"ptsd", "complex_trauma"},
    "ocd": {"ocd"},
    "panic": {"panic"},
    "social anxiety": {"social_anxiety"},
    "generalised anxiety": {"anxiety"},
}
HIGH_SCORES: dict[str, Any] = {
    "screening": {"phq9": [3, 3, 3, 3, 3, 3, 3, 3, 0], "phq9_difficulty": 3, "gad7": GAD7_18}
}


def person_texts(body: dict[str, Any]) -> list[str]:
    """Everything a person reads about the clinical picture (never the clinician notes)."""
    return [
        *(r["text"] for m in body["modalities"] for r in m["reasons"]),
        *(m["placement"]["text"] for m in body["modalities"]),
        *(a["text"] for a in body["advice"]),
        *(a["text"] for a in body["alerts"] if a["level"] != "urgent"),
    ]


@pytest.mark.parametrize("context", ["no_answers", "high_scores", "trauma_details"])
def test_nothing_names_a_condition_the_person_did_not_pick(matcher: Matcher, context: str) -> None:
    extra = {
        "no_answers": {},
        "high_scores": HIGH_SCORES,
        "trauma_details": {"trauma": {"since": "over_3_months", "combat_related": False}},
    }[context]
    wrong = []
    ids = list(VOCABULARY.difficulties)
    for difficulties in [[d] for d in ids] + combinations_of_difficulties()[: len(ids) * 4]:
        body = matcher.match({"difficulties": difficulties, **extra})
        for text in person_texts(body):
            for word, needs in CONDITION_WORDS.items():
                if word in text.lower() and not needs & set(difficulties):
                    wrong.append(f"{difficulties}: {word!r} in {text!r}")
    assert wrong == []


def test_clinician_notes_are_never_in_the_person_s_texts(matcher: Matcher) -> None:
    notes = {r.clinician_note for r in matcher.knowledge.rules if r.clinician_note}
    for difficulties in combinations_of_difficulties()[:60]:
        body = matcher.match({"difficulties": difficulties, **HIGH_SCORES})
        for text in person_texts(body):
            assert not [note for note in notes if note in text], text


PAIRS = [c for c in combinations_of_difficulties() if len(c) == 2]


def treats_lead_problems(
    intake: dict[str, Any], body: dict[str, Any], below_any_other: bool = False
) -> list[str]:
    """Matches equal on all but the approach where the lead's first-line treatment is below one
    who practises nothing recommended for the lead (or, `below_any_other`, none of its first-line
    treatments)."""
    difficulties = intake["difficulties"]
    leading = intake.get("main_difficulty") or next(
        (d for d in MOST_SPECIFIC if d in difficulties), None
    )
    ids = {m["id"] for m in body["modalities"]}
    first_line = FIRST_LINE.get(leading or "", set()) & ids
    # What the rules recommend for the leading difficulty: any modality one of whose reasons
    # fired on it (directly, or through a fact derived from it).
    for_leading = {
        m["id"]
        for m in body["modalities"]
        for r in m["reasons"]
        if {"field": "difficulties", "operator": "is", "value": leading} in r["conditions"]
    }

    def rest(match: dict[str, Any]) -> list[tuple[str, float]]:
        return [
            (s["id"], s["points"]) for s in match["score_breakdown"] if s["id"] != "modality_fit"
        ]

    matches = body["matches"]
    wrong = []
    for above, match in enumerate(matches):
        practised = set(match["therapist"]["modalities"])
        if practised & (first_line if below_any_other else for_leading):
            continue  # practises something recommended for the leading difficulty
        for lower in matches[above + 1 :]:
            if practised_first := set(lower["therapist"]["modalities"]) & first_line:
                if rest(lower) == rest(match):
                    wrong.append(
                        f"{match['therapist']['id']} ({sorted(practised)}) above "
                        f"{lower['therapist']['id']} ({sorted(practised_first)})"
                    )
    return wrong


@settings(max_examples=examples(300), deadline=None)
@given(
    pair=st.sampled_from(PAIRS),
    main=st.sampled_from([None, 0, 1]),
    context=st.sampled_from(list(CONTEXTS)),
)
def test_a_therapist_who_practises_the_lead_s_first_line_treatment_is_never_below_one_who_practises_nothing_for_it(
    matcher: Matcher, pair: list[str], main: int | None, context: str
) -> None:
    intake: dict[str, Any] = {"difficulties": pair, **CONTEXTS[context], "limit": 50}
    if main is not None:
        intake["main_difficulty"] = pair[main]
    assert treats_lead_problems(intake, matcher.match(intake)) == []


@pytest.mark.parametrize(
    ("difficulties", "main"),
    [(["ptsd", "ocd"], "ocd"), (["complex_trauma", "emotion_regulation"], None)],
)
def test_the_lead_s_first_line_therapists_come_before_those_of_a_co_occurring_difficulty(
    matcher: Matcher, difficulties: list[str], main: str | None
) -> None:
    intake: dict[str, Any] = {"difficulties": difficulties, "limit": 50}
    if main:
        intake["main_difficulty"] = main
    body = matcher.match(intake)
    assert len(body["matches"]) >= 10
    assert treats_lead_problems(intake, body, below_any_other=True) == []
