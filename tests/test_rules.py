"""A bad rules file stops start-up with one message naming the file, the rule and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.rules import load_knowledge
from matcher.web import create_app
from tests.files import replace_first

TRAUMA = "clinical/trauma.yaml"


def edit(rules: Path, relative: str, old: str, new: str) -> None:
    replace_first(rules / relative, old, new)


def problem(rules: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_knowledge(rules)
    return str(caught.value)


def test_the_bundled_rules_load_and_cite_known_sources() -> None:
    knowledge = load_knowledge(PROJECT_ROOT / "rules")
    assert len(knowledge.rules) >= 30
    for rule in knowledge.rules:
        assert rule.evidence and all(e.source in knowledge.sources for e in rule.evidence)


def test_every_difficulty_has_a_recommendation_or_a_care_route() -> None:
    knowledge = load_knowledge(PROJECT_ROOT / "rules")
    recommended_for = {
        value
        for rule in knowledge.rules
        if rule.recommend
        for condition in rule.when
        if condition.key == "difficulty"
        for value in condition.values
    }
    routed = {d for route in knowledge.care_routes.routes for d in route.difficulties}
    assert set(knowledge.vocabulary.difficulties) <= recommended_for | routed
    assert routed == {
        "eating_disorder",
        "psychosis",
        "bipolar",
        "substance_use",
        "domestic_abuse",
        "perinatal",
        "something_else",
    }


def test_unknown_field_names_the_file_the_rule_and_the_field(rules_copy: Path) -> None:
    edit(rules_copy, TRAUMA, "    recommend: emdr\n", "    recommend: emdr\n    weight: 3\n")
    assert (
        problem(rules_copy)
        == "rules/clinical/trauma.yaml: rule 'ptsd.emdr': field 'weight': Unknown field."
    )


def test_difficulty_not_in_the_vocabulary_is_named(rules_copy: Path) -> None:
    edit(
        rules_copy,
        TRAUMA,
        "      - difficulty: ptsd\n      - trauma: over_3_months",
        "      - difficulty: ptds\n      - trauma: over_3_months",
    )
    message = problem(rules_copy)
    assert message.startswith(
        "rules/clinical/trauma.yaml: rule 'ptsd.emdr': difficulty: 'ptds' is not in the vocabulary"
    )


def test_recommending_an_unknown_modality_is_named(rules_copy: Path) -> None:
    edit(rules_copy, TRAUMA, "recommend: emdr", "recommend: emdr2")
    assert "rule 'ptsd.emdr': recommend: 'emdr2' is not in the vocabulary" in problem(rules_copy)


def test_duplicate_rule_id_across_files_is_named(rules_copy: Path) -> None:
    edit(rules_copy, "clinical/mood.yaml", "id: grief.ipt", "id: ptsd.emdr")
    message = problem(rules_copy)
    assert "rule 'ptsd.emdr': duplicate rule id (also in rules/clinical/" in message


def test_missing_rationale_is_named(rules_copy: Path) -> None:
    edit(
        rules_copy,
        "clinical/anxiety.yaml",
        '    rationale: "Exposure and response prevention, the part of CBT built for OCD, helps you face the fear without doing the compulsion, so the urge loses its grip. It is what NICE recommends as the talking therapy for OCD."\n',
        "",
    )
    assert problem(rules_copy) == (
        "rules/clinical/anxiety.yaml: rule 'ocd.erp': field 'rationale': Missing data for required field."
    )


def test_missing_evidence_is_named(rules_copy: Path) -> None:
    text = (rules_copy / "clinical/relationships.yaml").read_text(encoding="utf-8")
    start = text.index("    evidence:", text.index("id: family_conflict.family_therapy"))
    (rules_copy / "clinical/relationships.yaml").write_text(text[:start], encoding="utf-8")
    assert problem(rules_copy) == (
        "rules/clinical/relationships.yaml: rule 'family_conflict.family_therapy': "
        "field 'evidence': Missing data for required field."
    )


def test_evidence_citing_an_unknown_source_is_named(rules_copy: Path) -> None:
    edit(rules_copy, TRAUMA, "source: nice-ng116", "source: nice-ng999")
    assert "rule 'ptsd.tf_cbt': evidence: unknown source 'nice-ng999'" in problem(rules_copy)


def test_bad_yaml_names_the_file_and_line(rules_copy: Path) -> None:
    edit(rules_copy, TRAUMA, "  - id: ptsd.emdr", "  - id: [ptsd.emdr")
    message = problem(rules_copy)
    assert message.startswith("rules/clinical/trauma.yaml: invalid YAML: line ")


def test_duplicate_keys_in_yaml_are_an_error_not_a_silent_overwrite(rules_copy: Path) -> None:
    edit(
        rules_copy, TRAUMA, "    recommend: emdr\n", "    recommend: emdr\n    recommend: tf_cbt\n"
    )
    assert "duplicate key 'recommend'" in problem(rules_copy)


def test_yaml_yes_no_are_not_booleans(rules_copy: Path) -> None:
    edit(rules_copy, TRAUMA, "alert: info", "alert: yes")
    assert (
        "rule 'ptsd.early_active_monitoring': field 'alert': Must be one of: info, caution."
        in problem(rules_copy)
    )


def test_rules_cannot_raise_an_urgent_alert(rules_copy: Path) -> None:
    edit(rules_copy, TRAUMA, "alert: info", "alert: urgent")
    assert "field 'alert'" in problem(rules_copy)


def test_unless_cannot_wait_for_a_derived_fact(rules_copy: Path) -> None:
    edit(
        rules_copy,
        TRAUMA,
        "    recommend: emdr\n    strength: strong\n",
        "    recommend: emdr\n    strength: strong\n    unless:\n      - recommended: tf_cbt\n",
    )
    assert (
        "rule 'ptsd.emdr': field 'unless': 'unless' can only test the person's answers"
        in problem(rules_copy)
    )


def test_a_flag_nobody_derives_is_named(rules_copy: Path) -> None:
    edit(
        rules_copy,
        TRAUMA,
        "      - flag: trauma_with_overwhelming_emotions",
        "      - flag: trauma_with_overwhelming_emotion",
    )
    assert (
        "rule 'trauma.skills_first': flag: 'trauma_with_overwhelming_emotion' is never derived"
        in problem(rules_copy)
    )


def test_a_rule_without_an_outcome_is_named(rules_copy: Path) -> None:
    edit(
        rules_copy,
        "clinical/mood.yaml",
        '    advise_setting: group\n    setting_step: option\n    rationale: "A grief group',
        '    rationale: "A grief group',
    )
    assert "rule 'grief.group': a rule needs an outcome" in problem(rules_copy)


def test_an_unknown_file_in_rules_is_an_error_not_ignored(rules_copy: Path) -> None:
    (rules_copy / "extra.yaml").write_text("rules: []\n", encoding="utf-8")
    assert problem(rules_copy).startswith("rules/extra.yaml: not a known rules file")


def test_duplicate_vocabulary_id_is_named(rules_copy: Path) -> None:
    edit(rules_copy, "vocabulary.yaml", "  - {id: panic,", "  - {id: anxiety,")
    assert (
        problem(rules_copy) == "rules/vocabulary.yaml: difficulties: id 'anxiety' is listed twice"
    )


def test_a_modality_done_in_an_unknown_setting_is_named(rules_copy: Path) -> None:
    edit(rules_copy, "vocabulary.yaml", "setting: couple}", "setting: couples}")
    assert problem(rules_copy) == (
        "rules/vocabulary.yaml: modality 'couples_therapy': field 'setting': unknown setting "
        "'couples'"
    )


def test_relaxation_dropping_an_unknown_constraint_is_named(rules_copy: Path) -> None:
    edit(rules_copy, "matching.yaml", "drops: [fee]", "drops: [price]")
    assert problem(rules_copy) == (
        "rules/matching.yaml: relaxation 'over_budget': drops unknown hard constraint 'price'"
    )


def test_the_app_refuses_to_start_on_a_bad_rules_file(rules_copy: Path) -> None:
    edit(rules_copy, TRAUMA, "recommend: emdr", "recommend: emdr2")
    with pytest.raises(ConfigError, match="emdr2"):
        create_app({"RULES_DIR": str(rules_copy)})


@pytest.mark.slow
def test_matcher_check_reports_ok_and_failures(rules_copy: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "matcher", "check"], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert ok.returncode == 0 and "matcher check: ok:" in ok.stdout
    edit(rules_copy, TRAUMA, "recommend: emdr", "recommend: emdr2")
    bad = run_check(rules_copy)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "matcher check: rules/clinical/trauma.yaml: rule 'ptsd.emdr': recommend: 'emdr2' is not in "
        "the vocabulary (cbt, tf_cbt, emdr, erp, dbt, behavioural_activation, applied_relaxation, "
        "transdiagnostic_cbt, process_based, counselling, psychodynamic, ipt, humanistic, "
        "couples_therapy, family_therapy, guided_self_help, mbct)"
    )


def run_check(rules: Path) -> subprocess.CompletedProcess[str]:
    """`matcher check` on a rules folder, as a clinician would run it."""
    return subprocess.run(
        [sys.executable, "-m", "matcher", "check", "--rules", str(rules)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )


@pytest.mark.slow
def test_matcher_check_also_validates_the_checklist(rules_copy: Path) -> None:
    checklist = rules_copy / "checklist.yaml"
    checklist.write_text(
        checklist.read_text(encoding="utf-8").replace("source: seed-004", "source: seed-999", 1),
        encoding="utf-8",
    )
    bad = run_check(rules_copy)
    assert bad.returncode == 1
    assert bad.stderr.startswith("matcher check: rules/checklist.yaml: question ")
