"""When one of issue 15's gates rules everyone out, the answer names that gate and offers a
person's review, in the API and on the results page (a constraint from before offers none)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.matching import Matcher
from tests.forms import form_token

# Each intake leaves nobody at exactly one gate; the gates before it leave someone.
RULED_OUT: dict[str, dict[str, Any]] = {
    "licensure": {
        "difficulties": ["grief"],
        "location": {"country": "US", "region": "US-OH"},
        "preferences": {"format": "in_person", "city": "Columbus"},
    },
    "payer": {
        "difficulties": ["depression"],
        "location": {"country": "ES"},
        "preferences": {
            "format": "in_person",
            "city": "Barcelona",
            "payment": {"method": "insurance", "scheme": "es_private", "payer": "Asisa"},
        },
    },
    "currency": {
        "difficulties": ["depression"],
        "location": {"country": "ES"},
        "preferences": {
            "format": "online",
            "payment": {"method": "self_pay", "max_fee": 100, "currency": "JPY"},
        },
    },
    "distance": {
        "difficulties": ["anxiety"],
        "location": {"country": "ES"},
        "preferences": {
            "format": "in_person",
            "city": "Getafe",
            "max_distance_km": 10,
            "access": ["handiaccess"],
        },
    },
    "reachable": {
        "difficulties": ["anxiety"],
        "location": {"country": "DE"},
        "preferences": {"format": "any", "city": "Hamburg", "languages": ["tr"]},
    },
    "access": {
        "difficulties": ["depression"],
        "location": {"country": "GB"},
        "preferences": {"format": "in_person", "city": "London", "access": ["cognitive"]},
    },
    "interpreter": {
        "difficulties": ["depression"],
        "location": {"country": "FR"},
        "preferences": {"format": "in_person", "city": "Paris", "interpreter": "ase"},
    },
    "affirming": {
        "difficulties": ["depression"],
        "location": {"country": "FR"},
        "preferences": {"format": "online", "affirming": ["faith_integrated:judaism"]},
    },
}


@pytest.mark.parametrize("gate", sorted(RULED_OUT))
def test_the_gate_that_ruled_everyone_out_is_named_and_a_staff_review_offered(
    client: FlaskClient, matcher: Matcher, gate: str
) -> None:
    body = client.post("/api/v1/match", json=RULED_OUT[gate]).get_json()
    assert body["matches"] == []
    assert body["no_match"]["constraint"] == gate
    assert body["no_match"]["funnel"][-1]["remaining"] == 0
    assert body["no_match"]["staff_review"] == matcher.knowledge.matching.staff_review


def test_a_gate_from_before_offers_alternatives_but_no_staff_review(client: FlaskClient) -> None:
    swahili = {
        "difficulties": ["depression"],
        "location": {"country": "ES"},
        "preferences": {"format": "online", "languages": ["sw"]},
    }
    body = client.post("/api/v1/match", json=swahili).get_json()
    assert body["no_match"]["constraint"] == "language"
    assert "staff_review" not in body["no_match"]


def _words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'").strip()


def test_the_results_page_names_the_gate_and_offers_the_review(
    client: FlaskClient, matcher: Matcher, app: Flask
) -> None:
    page = client.get("/").get_data(as_text=True)
    answers = {
        "csrf_token": form_token(page),
        "location": "GB",
        "difficulties": "depression",
        "self_harm_thoughts": "no",
        "format": "in_person",
        "city": "London",
        "access": "cognitive",
    }
    response = client.post("/results", data=answers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    no_match = _words(
        html[html.index('id="no-match"') : html.index("</div>", html.index('id="no-match"'))]
    )
    assert "none have an office with services for people with cognitive impairments." in no_match
    assert matcher.knowledge.matching.staff_review in no_match
