"""Property-based: for any valid intake, no hard constraint is broken and the answer is stable."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import PROJECT_ROOT
from matcher.matching import Matcher
from matcher.rules import load_knowledge
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
    screening: dict[str, Any] = {}
    if draw(st.booleans()):
        screening["phq9"] = draw(st.lists(st.integers(0, 3), min_size=9, max_size=9))
    if draw(st.booleans()):
        screening["gad7"] = draw(st.lists(st.integers(0, 3), min_size=7, max_size=7))
    if screening and draw(st.booleans()):
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
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
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
    assert app.json.dumps(uncached.match(intake)).encode() == response.data
    phq9 = (intake.get("screening") or {}).get("phq9")
    urgent = (
        bool(phq9 and phq9[8] > 0) or (intake.get("risk") or {}).get("self_harm_thoughts") is True
    )
    assert body["safety"]["urgent"] is urgent
    levels = [alert["level"] for alert in body["alerts"]]
    assert (levels[:1] == ["urgent"]) is urgent
    assert "urgent" not in levels[1:]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
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
