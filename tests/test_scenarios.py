"""Clinician-readable scenarios (tests/scenarios/*.yaml): intake in, expected outcome out."""

from __future__ import annotations

import itertools
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
    "matches",
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
    for text in expect.get("caveats_mention", []):
        assert any(text in c["text"] for m in body["matches"][:1] for c in m["caveats"]), text
    if "matches" in expect:  # every match, in order
        assert matches == expect["matches"], matches
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


# The treatment each guideline-backed condition is first treated with (issue 14): NG116 for
# trauma, CG31 for OCD, CG159 for social anxiety, CG113 for panic.
FIRST_LINE = {
    "ptsd": {"tf_cbt", "emdr"},
    "complex_trauma": {"tf_cbt", "emdr"},
    "ocd": {"erp"},
    "social_anxiety": {"cbt"},
    "panic": {"cbt"},
}
PHQ9_17 = [2, 2, 2, 2, 2, 2, 2, 3, 0]
PHQ9_7 = [1, 1, 1, 1, 1, 1, 1, 0, 0]
GAD7_18 = [3, 3, 3, 3, 2, 2, 2]
GAD7_6 = [1, 1, 1, 1, 1, 1, 0]
CONTEXTS = {
    "no_answers": {},
    "asks_for_a_group": {"preferences": {"setting": "group"}},
    "asks_for_couple_sessions": {"preferences": {"setting": "couple"}},
    "phq9_17": {"screening": {"phq9": PHQ9_17}},
    "phq9_7_asks_for_a_group": {
        "screening": {"phq9": PHQ9_7},
        "preferences": {"setting": "group"},
    },
    "phq9_7_gad7_18": {"screening": {"phq9": PHQ9_7, "gad7": GAD7_18}},
    "phq9_7_gad7_6": {"screening": {"phq9": PHQ9_7, "gad7": GAD7_6}},
    "self_harm_thoughts_asks_for_a_group": {
        "risk": {"self_harm_thoughts": True},
        "preferences": {"setting": "group"},
    },
}


def combinations_of_difficulties(client: FlaskClient) -> list[list[str]]:
    ids = [d["id"] for d in client.get("/api/v1/vocabulary").get_json()["difficulties"]]
    return [list(c) for n in (1, 2, 3) for c in itertools.combinations(ids, n)]


@pytest.mark.parametrize("context", CONTEXTS, ids=list(CONTEXTS))
def test_every_pair_and_triple_gets_one_setting_and_first_line_treatments_first(
    client: FlaskClient, context: str
) -> None:
    wrong = []
    for difficulties in combinations_of_difficulties(client):
        body = client.post(
            "/api/v1/match", json={"difficulties": difficulties, **CONTEXTS[context]}
        ).get_json()
        settings = sorted({a["setting"] for a in body["advice"]})
        if len(settings) > 1:
            wrong.append(f"{difficulties}: advice for {settings}")
        ranked = [m["id"] for m in body["modalities"]]
        first_line = set().union(*(FIRST_LINE.get(d, set()) for d in difficulties))
        for modality in first_line & set(ranked):
            above = [m for m in ranked[: ranked.index(modality)] if m not in first_line]
            if above:
                wrong.append(f"{difficulties}: {above} ranked above {modality}")
    assert wrong == []
