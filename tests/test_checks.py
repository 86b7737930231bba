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
        "rules/matching.yaml: field 'hard_constraints.19.check': "
        "Must be one of: is_true, shares_any, offers, same_city, within_distance, "
        "online_or_within_distance, licensed_where_you_are, confirmed_within, speaks_any, "
        "interpreted, office_access, has_all, within_range, runs_group_for, "
        "offers_required_setting, fits_clinically, charges_in, fee_within, takes_plan."
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


def caveat_texts(explained: dict[str, object]) -> list[str]:
    """The caveat sentences of a match or a why answer."""
    return [c["text"] for c in explained["caveats"]]  # type: ignore[attr-defined]


def test_a_therapist_over_budget_without_a_sliding_scale_is_never_said_to_fit_through_one(
    matcher: Matcher,
) -> None:
    # t-010 charges €110 and has no sliding scale: asked why not within €60, the fee constraint
    # says so once, and no sentence claims a sliding scale that does not exist. (Grief: she
    # works with it, so the clinical fit passes and the fee is the only failure.)
    why = matcher.why("t-010", {"difficulties": ["grief"], "preferences": {"max_fee": 60}})
    assert [f["text"] for f in why["failed"]] == [
        "Not within your budget of €60: fee €110, no sliding scale"
    ]
    assert [c for c in caveat_texts(why) if "through the sliding scale" in c] == []


def test_the_nearest_alternatives_over_budget_speak_only_of_sliding_scales_that_exist(
    matcher: Matcher,
) -> None:
    result = matcher.match({"difficulties": ["stress"], "preferences": {"max_fee": 10}})
    over_budget = next(r for r in result["relaxed"] if r["relaxation"] == "over_budget")
    for match in over_budget["matches"]:
        said = [c for c in caveat_texts(match) if "only through the sliding scale" in c]
        assert said == [], (match["therapist"]["id"], said)


def test_a_therapist_who_fits_through_the_sliding_scale_is_told_so(matcher: Matcher) -> None:
    # t-016: €95, sliding scale from €70, within a budget of €70 only through the scale.
    why = matcher.why("t-016", {"difficulties": ["ptsd"], "preferences": {"max_fee": 70}})
    reasons = [r["text"] for r in why["reasons"]] if "reasons" in why else []
    assert "Standard fee €95 is not within your budget of €70" in caveat_texts(why), reasons


@pytest.mark.parametrize(
    ("therapist", "sentence"),
    [
        ("t-004", "Does not see people in person in Madrid (works online only)"),
        (
            "t-022",
            "Sees people in person about 1,400 km from central Madrid (city centre, not your "
            "address), more than 25 km away",
        ),
    ],
)
def test_where_a_therapist_works_reads_as_a_sentence(
    matcher: Matcher, therapist: str, sentence: str
) -> None:
    intake = {"difficulties": ["stress"], "preferences": {"format": "in_person", "city": "Madrid"}}
    failed = [f["text"] for f in matcher.why(therapist, intake)["failed"]]
    assert sentence in failed
