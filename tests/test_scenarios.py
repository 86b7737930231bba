"""Clinician-readable scenarios (rules/scenarios/*.yaml): intake in, expected outcome out.

They live beside the rules they test, so a clinician opening rules/ finds the cases too; the
service and `matcher check` skip that folder (matcher/rules.py SCENARIOS_DIR), this test runs it.
A therapist or a modality is written as its id, or as its id then its name, exactly as in
therapists.yaml or rules/vocabulary.yaml: `first_match: "t-001 Lucía Fernández Ortega"`,
`top_modalities: ["tf_cbt Trauma-focused CBT", emdr]`. A name that is not that id's fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from matcher import PROJECT_ROOT
from matcher.rules import load_knowledge
from tests.files import read_yaml
from tests.invariants import assert_valid_match_response

SCENARIO_DIR = PROJECT_ROOT / "rules" / "scenarios"
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
# The expectations that name therapists, and those that name modalities (a list, or one).
THERAPIST_KEYS = ("first_match", "matches_include", "matches_exclude", "matches")
MODALITY_KEYS = ("top_modalities", "modalities_include", "modalities_exclude")


def _names(path: Path, key: str) -> dict[str, str]:
    entries = read_yaml(path)[key]
    return {entry["id"]: entry["name"] for entry in entries}


THERAPIST_NAMES = _names(PROJECT_ROOT / "therapists.yaml", "therapists")
MODALITY_NAMES = _names(PROJECT_ROOT / "rules" / "vocabulary.yaml", "modalities")


class ScenarioError(ValueError):
    """A scenario file that names something it cannot mean."""


def resolve(written: Any, names: Mapping[str, str], where: str) -> str:
    """The id `written` names: an id alone, or an id, a space, and that id's exact name."""
    identifier, _, name = str(written).partition(" ")
    if identifier not in names:
        raise ScenarioError(f"{where}: {written!r}: no {identifier!r} in the roster or vocabulary")
    if name and name != names[identifier]:
        raise ScenarioError(
            f"{where}: {written!r}: {identifier} is {names[identifier]!r}, not {name!r}"
        )
    return identifier


def resolve_names(expect: dict[str, Any], where: str) -> dict[str, Any]:
    """`expect` with every therapist and modality written by name reduced to its id."""
    resolved = dict(expect)

    def ids(key: str, names: Mapping[str, str]) -> None:
        if key in resolved:
            value = resolved[key]
            if isinstance(value, list):
                resolved[key] = [resolve(v, names, f"{where}: {key}") for v in value]
            else:
                resolved[key] = resolve(value, names, f"{where}: {key}")

    for key in THERAPIST_KEYS:
        ids(key, THERAPIST_NAMES)
    for key in MODALITY_KEYS:
        ids(key, MODALITY_NAMES)
    if "placements" in resolved:
        resolved["placements"] = [
            [resolve(modality, MODALITY_NAMES, f"{where}: placements"), kind]
            for modality, kind in resolved["placements"]
        ]
    if "relaxed" in resolved:
        resolved["relaxed"] = [
            {
                relaxation: [resolve(t, THERAPIST_NAMES, f"{where}: relaxed") for t in therapists]
                for relaxation, therapists in offer.items()
            }
            for offer in resolved["relaxed"]
        ]
    if "why" in resolved:
        resolved["why"] = {
            resolve(t, THERAPIST_NAMES, f"{where}: why"): failed
            for t, failed in resolved["why"].items()
        }
    return resolved


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = read_yaml(path)
    # `follows` names the guideline (and recommendation) a clinical scenario checks.
    assert {"name", "intake", "expect"} <= set(data) <= {"name", "follows", "intake", "expect"}, (
        f"{path.name}: keys {sorted(data)}"
    )
    unknown = set(data["expect"]) - EXPECT_KEYS
    assert not unknown, f"{path.name}: unknown expectations {sorted(unknown)}"
    data["expect"] = resolve_names(data["expect"], path.name)
    return data


def test_no_scenario_is_left_where_it_would_not_run() -> None:
    # Scenarios lived in tests/scenarios/ until they moved beside the rules; one written there
    # by an older branch would be silently skipped.
    assert sorted(p.name for p in (Path(__file__).parent / "scenarios").glob("*.y*ml")) == []


def test_scenario_files_have_distinct_numbers() -> None:
    numbers = [path.name.partition("_")[0] for path in SCENARIOS]
    assert sorted(n for n in set(numbers) if numbers.count(n) > 1) == []


def test_a_therapist_or_modality_may_be_named_beside_its_id() -> None:
    expect = {
        "first_match": "t-001 Lucía Fernández Ortega",
        "top_modalities": ["tf_cbt Trauma-focused CBT", "emdr"],
        "relaxed": [{"any_setting": ["t-001 Lucía Fernández Ortega", "t-016"]}],
        "why": {"t-001 Lucía Fernández Ortega": []},
    }
    assert resolve_names(expect, "x.yaml") == {
        "first_match": "t-001",
        "top_modalities": ["tf_cbt", "emdr"],
        "relaxed": [{"any_setting": ["t-001", "t-016"]}],
        "why": {"t-001": []},
    }


def test_a_name_that_is_not_its_ids_fails_naming_both() -> None:
    with pytest.raises(ScenarioError) as raised:
        resolve_names({"matches": ["t-001 Ana García"]}, "x.yaml")
    assert str(raised.value) == (
        "x.yaml: matches: 't-001 Ana García': t-001 is 'Lucía Fernández Ortega', not 'Ana García'"
    )


def test_an_unknown_id_fails_naming_it() -> None:
    with pytest.raises(ScenarioError) as raised:
        resolve_names({"top_modalities": ["emdr2"]}, "x.yaml")
    assert str(raised.value) == (
        "x.yaml: top_modalities: 'emdr2': no 'emdr2' in the roster or vocabulary"
    )


def test_the_service_skips_the_scenarios_and_they_are_no_part_of_rules_version(
    tmp_path: Path,
) -> None:
    shutil.copytree(PROJECT_ROOT / "rules", tmp_path / "rules")
    before = load_knowledge(tmp_path / "rules").digest
    (tmp_path / "rules" / "scenarios" / "999_not_a_rule.yaml").write_text("name: [broken\n")
    assert load_knowledge(tmp_path / "rules").digest == before


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
