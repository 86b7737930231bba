"""Clinician-readable scenarios (tests/scenarios/*.yaml): intake in, expected outcome out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from tests.invariants import assert_valid_match_response

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.yaml"))
EXPECT_KEYS = {
    "top_modalities",
    "modalities_include",
    "modalities_exclude",
    "first_match",
    "matches_include",
    "matches_exclude",
    "match_count",
    "advice_settings",
    "advice_rules",
    "alerts",
    "no_match_because",
    "relaxed_include",
    "reasons_mention",
    "caveats_mention",
    "setting_step",
    "overrode",
    "advice_text_mentions",
    "texts_exclude",
    "texts_mention",
    "placements",
    "care_route",
    "matches",
    "relaxed",
    "review_required",
    "funnel",
    "staff_review",
    "why",
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # `follows` names the guideline (and recommendation) a clinical scenario checks.
    assert {"name", "intake", "expect"} <= set(data) <= {"name", "follows", "intake", "expect"}, (
        f"{path.name}: keys {sorted(data)}"
    )
    unknown = set(data["expect"]) - EXPECT_KEYS
    assert not unknown, f"{path.name}: unknown expectations {sorted(unknown)}"
    return data


def test_there_are_enough_scenarios_to_cover_every_difficulty(client: FlaskClient) -> None:
    vocabulary = client.get("/api/v1/vocabulary").get_json()
    covered = {d for path in SCENARIOS for d in load(path)["intake"].get("difficulties", [])}
    assert len(SCENARIOS) >= 25
    assert {d["id"] for d in vocabulary["difficulties"]} <= covered


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, client: FlaskClient) -> None:
    scenario = load(path)
    intake, expect = scenario["intake"], scenario["expect"]
    response = client.post("/api/v1/match", json=intake)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert_valid_match_response(intake, body)
    modalities = [m["id"] for m in body["modalities"]]
    matches = [m["therapist"]["id"] for m in body["matches"]]
    if "top_modalities" in expect:  # in order, best first
        top = expect["top_modalities"]
        assert modalities[: len(top)] == top, modalities
    for modality in expect.get("modalities_include", []):
        assert modality in modalities
    for modality in expect.get("modalities_exclude", []):
        assert modality not in modalities
    if "first_match" in expect:
        assert matches[:1] == [expect["first_match"]], matches
    for therapist in expect.get("matches_include", []):
        assert therapist in matches, matches
    for therapist in expect.get("matches_exclude", []):
        assert therapist not in matches
    if "match_count" in expect:
        assert len(matches) == expect["match_count"], matches
    if "advice_settings" in expect:
        assert sorted({a["setting"] for a in body["advice"]}) == sorted(expect["advice_settings"])
    if "advice_rules" in expect:  # every piece of advice, in order: the rules that gave it
        assert [a["rule"] for a in body["advice"]] == expect["advice_rules"], body["advice"]
    if "alerts" in expect:
        assert sorted(a["rule"] for a in body["alerts"]) == sorted(expect["alerts"])
    if "no_match_because" in expect:
        assert matches == []
        assert body["no_match"]["constraint"] == expect["no_match_because"]
    for relaxation in expect.get("relaxed_include", []):
        assert relaxation in [r["relaxation"] for r in body["relaxed"]]
    for text in expect.get("reasons_mention", []):
        assert any(text in r["text"] for m in body["matches"][:1] for r in m["reasons"]), text
    decision = body["setting_decision"]
    if "setting_step" in expect:  # the step of the one setting decision that decided
        assert decision is not None and decision["step"] == expect["setting_step"], decision
    if "overrode" in expect:  # what it set aside, in order: the request first
        assert decision is not None
        assert [o["rule"] for o in decision["overrode"]] == expect["overrode"], decision
    for text in expect.get("advice_text_mentions", []):
        assert any(text in a["text"] for a in body["advice"]), body["advice"]
    if "placements" in expect:  # why each modality is where it is, in order
        placed = [[m["id"], m["placement"]["kind"]] for m in body["modalities"]]
        assert placed == expect["placements"], placed
    person_texts = [
        *(r["text"] for m in body["modalities"] for r in m["reasons"]),
        *(m["placement"]["text"] for m in body["modalities"]),
        *(a["text"] for a in body["advice"]),
        *(a["text"] for a in body["alerts"]),
    ]
    for text in expect.get("texts_mention", []):  # somewhere in what the person reads
        assert [t for t in person_texts if text in t], text
    for word in expect.get("texts_exclude", []):  # never in what the person reads
        assert not [t for t in person_texts if word.lower() in t.lower()], word
    for text in expect.get("caveats_mention", []):
        assert any(text in c["text"] for m in body["matches"][:1] for c in m["caveats"]), text
    # Without a care_route expectation, the person can choose from the matches themselves.
    route = expect.get("care_route", {"level": "self_match", "rule": "route.self_match"})
    assert {
        "level": body["care_route"]["level"],
        "rule": body["care_route"]["rule"],
        "also": [r["rule"] for r in body["care_route"]["also"]],
    } == {"also": [], **route}, body["care_route"]
    if "matches" in expect:  # every match, in order
        assert matches == expect["matches"], matches
    if "relaxed" in expect:  # every relaxation offered, in order, with its matches
        assert [
            {r["relaxation"]: [m["therapist"]["id"] for m in r["matches"]]} for r in body["relaxed"]
        ] == expect["relaxed"], body["relaxed"]
    if "review_required" in expect:  # on every match shown, relaxed ones too
        shown = body["matches"] + [m for r in body["relaxed"] for m in r["matches"]]
        assert {m["review_required"] for m in shown} <= {expect["review_required"]}
    if "funnel" in expect:  # each active constraint in order, with how many it left
        funnel = [f"{f['constraint']}: {f['remaining']}" for f in body["no_match"]["funnel"]]
        assert funnel == expect["funnel"], funnel
    if "staff_review" in expect:
        assert ("staff_review" in (body["no_match"] or {})) is expect["staff_review"]
    # /why for named therapists: every failed check's sentence, in order (none: eligible)
    for therapist, failed in expect.get("why", {}).items():
        why = client.post(f"/api/v1/therapists/{therapist}/why", json=intake).get_json()
        assert [f"{f['rule']}: {f['text']}" for f in why["failed"]] == failed, why["failed"]
        assert why["eligible"] is (failed == [])
