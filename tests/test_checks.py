"""The check registry: a new hard constraint is one registered object and one YAML entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher import checks
from matcher.checks import HARD_CHECKS, HardCheck
from matcher.errors import ConfigError
from matcher.matching import Matcher
from matcher.rules import load_knowledge
from tests.conftest import ROSTER

# The README's example ("Adding a constraint"), word for word.
SAME_GENDER = HardCheck(
    "same_gender",
    mask=lambda roster, field, wanted, at: roster.gender[at] == roster.genders.get(wanted, -1),
    found=lambda therapist, field: therapist["gender"],
    kind="gender",
)
ENTRY = """
  - id: gender
    requirement: "be {wanted}"
    check: same_gender
    intake_field: preferences.therapist_gender
    therapist_field: gender
    passed: "Is {wanted}, as you asked"
    failed: "Is {offered}, not {wanted}"
"""
INTAKE = {
    "difficulties": ["ptsd"],
    "preferences": {"therapist_gender": "man", "format": "online", "languages": ["en"]},
    "limit": 50,
}


def with_entry(rules: Path) -> Path:
    """Add the example's entry at the end of matching.yaml's hard constraints."""
    path = rules / "matching.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "\n# When nobody is left"
    assert anchor in text
    path.write_text(text.replace(anchor, ENTRY + anchor, 1), encoding="utf-8")
    return rules


def test_a_check_the_registry_does_not_know_is_refused_naming_it(rules_copy: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_knowledge(with_entry(rules_copy))
    assert str(raised.value) == (
        "rules/matching.yaml: field 'hard_constraints.16.check': "
        "Must be one of: is_true, shares_any, offers, same_city, within_distance, "
        "online_or_within_distance, licensed_where_you_are, confirmed_within, speaks_any, "
        "interpreted, office_access, has_all, within_range, charges_in, fee_within, takes_plan."
    )


def test_one_registered_check_and_one_yaml_entry_add_a_hard_constraint(
    rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(checks.HARD_CHECKS, "same_gender", SAME_GENDER)
    matcher = Matcher.from_files(with_entry(rules_copy), ROSTER)

    matches = matcher.match(INTAKE)["matches"]
    assert matches, "the bundled roster has men who treat PTSD online in English"
    assert {matcher.therapist(m["therapist"]["id"])["gender"] for m in matches} == {"man"}

    woman = next(
        t
        for t in matcher.roster.therapists
        if t["gender"] == "woman" and t["accepting_new_clients"]
    )
    why = matcher.why(woman["id"], INTAKE)
    assert {"rule": "constraint.gender", "text": "Is a woman, not a man"} in why["failed"]
    assert why["eligible"] is False


def test_every_check_matching_yaml_names_is_registered_once() -> None:
    matching = load_knowledge(ROSTER.parent / "rules").matching
    assert {c.check for c in matching.hard_constraints} <= set(HARD_CHECKS)
    assert {p.check for p in matching.soft_preferences} <= set(checks.SOFT_CHECKS)
    assert all(name == check.name for name, check in HARD_CHECKS.items())
    assert all(name == check.name for name, check in checks.SOFT_CHECKS.items())
