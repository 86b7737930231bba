"""Checks every match response must pass, whatever the intake: used by scenarios and properties."""

from __future__ import annotations

import unicodedata
from typing import Any

from matcher.schemas import MatchResponseSchema

# The age the clinic treats as adult when MATCHER_ADULT_AGE is not set.
ADULT_AGE = 18


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def hard_constraint_violations(intake: dict[str, Any], therapist: dict[str, Any]) -> list[str]:
    """Every hard constraint of the intake that this therapist breaks (written out independently)."""
    prefs = intake.get("preferences") or {}
    problems = []
    if therapist["accepting_new_clients"] is not True:
        problems.append("not accepting new clients")
    languages = prefs.get("languages")
    if languages and not set(languages) & set(therapist["languages"]):
        problems.append("speaks none of the requested languages")
    fmt = prefs.get("format", "any")
    if fmt != "any" and fmt not in therapist["formats"]:
        problems.append(f"does not offer format {fmt}")
    setting = prefs.get("setting", "any")
    if setting in ("couple", "family") and "domestic_abuse" in intake.get("difficulties", []):
        setting = "any"  # beside abuse, couple and family sessions are never offered
    if setting != "any" and setting not in therapist["settings"]:
        problems.append(f"does not offer setting {setting}")
    if fmt == "in_person" and _fold(therapist["city"] or "") != _fold(prefs["city"]):
        problems.append("not in the requested city")
    age = prefs.get("age")
    if age is not None and not therapist["ages"]["min"] <= age <= therapist["ages"]["max"]:
        problems.append("age out of range")
    max_fee = prefs.get("max_fee")
    if max_fee is not None:
        sliding = therapist["sliding_scale_min"]
        if therapist["fee"] > max_fee and (sliding is None or sliding > max_fee):
            problems.append("fee over budget")
    return problems


def assert_valid_match_response(intake: dict[str, Any], body: dict[str, Any]) -> None:
    """The response validates against its schema and no match breaks a hard constraint."""
    prefs = intake.get("preferences") or {}
    errors = MatchResponseSchema().validate(body)
    assert errors == {}, errors
    for match in body["matches"]:
        assert hard_constraint_violations(intake, match["therapist"]) == [], match["therapist"][
            "id"
        ]
    limit = intake.get("limit", 5)
    assert len(body["matches"]) <= limit
    scores = [(-m["score"], m["therapist"]["id"]) for m in body["matches"]]
    assert scores == sorted(scores), "matches are not ranked"
    if body["matches"]:
        assert body["no_match"] is None and body["relaxed"] == []
    else:
        assert body["no_match"] is not None
    ids = [m["therapist"]["id"] for m in body["matches"]]
    for entry in body["relaxed"]:
        assert not set(ids) & {m["therapist"]["id"] for m in entry["matches"]}
    shown = body["matches"] + [m for entry in body["relaxed"] for m in entry["matches"]]
    if body["care_route"]["level"] != "self_match":
        assert all(m["review_required"] for m in shown), "a routed intake's match skips review"
    age = prefs.get("age")
    if age is not None and age < ADULT_AGE:
        for match in shown:  # never relaxed for a child or young person
            ages = match["therapist"]["ages"]
            assert ages["min"] <= age <= ages["max"], match["therapist"]["id"]
    if "domestic_abuse" in intake.get("difficulties", []):
        assert not {"couples_therapy", "family_therapy"} & {m["id"] for m in body["modalities"]}
        assert not {"couple", "family"} & {a["setting"] for a in body["advice"]}
