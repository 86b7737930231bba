"""The roster is validated at load: a bad entry names the file, the therapist, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.roster import load_roster, normalise_city
from matcher.rules import load_knowledge
from tests.files import replace_first

KNOWLEDGE = load_knowledge(PROJECT_ROOT / "rules")
VOCABULARY = KNOWLEDGE.vocabulary
PLACES = KNOWLEDGE.places


def edit_first(path: Path, old: str, new: str) -> None:
    replace_first(path, old, new)


def problem(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_roster(path, VOCABULARY, places=PLACES)
    return str(caught.value)


def test_bundled_roster_is_large_varied_and_fictional() -> None:
    roster = load_roster(PROJECT_ROOT / "therapists.yaml", VOCABULARY, places=PLACES)
    therapists = [t.profile for t in roster.therapists]
    assert len(therapists) >= 40
    languages = {code for t in therapists for code in t["languages"]}
    assert {"en", "es", "nl", "ar", "fr", "de"} <= languages
    assert len({t["city"] for t in therapists}) >= 6
    assert any(not t["accepting_new_clients"] for t in therapists)
    assert any(t["groups"] for t in therapists)
    assert (
        "fictional"
        in (PROJECT_ROOT / "therapists.yaml").read_text(encoding="utf-8").splitlines()[0]
    )


def test_public_profile_keeps_the_field_names_clients_filter_on() -> None:
    roster = load_roster(PROJECT_ROOT / "therapists.yaml", VOCABULARY, places=PLACES)
    profile = roster.therapists[0].profile
    for name in (
        "id",
        "name",
        "languages",
        "formats",
        "settings",
        "city",
        "accepting_new_clients",
        "modalities",
        "difficulties",
    ):
        assert name in profile


def test_unknown_language_names_therapist_and_field(roster_copy: Path) -> None:
    edit_first(roster_copy, "languages: [es, en]", "languages: [es, xx]")
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'languages': 'xx' is not an ISO 639-1 language "
        "code or an ISO 639-3 sign language code"
    )


def test_unknown_modality_is_named(roster_copy: Path) -> None:
    edit_first(roster_copy, "modalities: [emdr, tf_cbt, cbt]", "modalities: [emdr, tfcbt, cbt]")
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'modalities': unknown modalities id 'tfcbt'"
    )


def test_missing_field_is_named(roster_copy: Path) -> None:
    edit_first(roster_copy, "    pronouns: she/her\n", "")
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'pronouns': required, but missing"
    )


def test_yes_is_not_a_boolean(roster_copy: Path) -> None:
    edit_first(roster_copy, "accepting_new_clients: true", "accepting_new_clients: yes")
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'accepting_new_clients': Expected bool, got str"
    )


def test_duplicate_therapist_id_is_named(roster_copy: Path) -> None:
    edit_first(roster_copy, "id: t-002", "id: t-001")
    assert problem(roster_copy) == "therapists.yaml: therapist 't-001': duplicate therapist id"


def test_in_person_without_city_is_named(roster_copy: Path) -> None:
    edit_first(roster_copy, "    city: Madrid\n", "    city: null\n")
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'city': required when formats include in_person"
    )


def test_age_range_upside_down_is_named(roster_copy: Path) -> None:
    edit_first(roster_copy, "ages: {min: 18, max: 99}", "ages: {min: 60, max: 18}")
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'ages': min 60 is above max 18"
    )


def test_sliding_scale_above_fee_is_named(roster_copy: Path) -> None:
    edit_first(roster_copy, "sliding_scale_min: 55", "sliding_scale_min: 500")
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'sliding_scale_min': must be below the fee"
    )


def test_group_setting_without_groups_is_named(roster_copy: Path) -> None:
    edit_first(
        roster_copy,
        "settings: [individual]\n    groups: []",
        "settings: [individual, group]\n    groups: []",
    )
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'groups': settings include group, so list at least one group"
    )


def test_unknown_field_and_wrong_type_are_named(roster_copy: Path) -> None:
    edit_first(roster_copy, "    pronouns: she/her\n", "    pronouns: she/her\n    rating: 5\n")
    assert (
        problem(roster_copy) == "therapists.yaml: therapist 't-001': field 'rating': unknown field"
    )


def test_a_wrong_type_deep_inside_is_named_with_its_path(roster_copy: Path) -> None:
    edit_first(roster_copy, "ages: {min: 18, max: 99}", "ages: {min: 18, max: '99'}")
    assert problem(roster_copy) == (
        "therapists.yaml: therapist 't-001': field 'ages.max': Expected int, got str"
    )


def test_city_comparison_ignores_case_accents_and_spaces() -> None:
    assert normalise_city("  MÁLAGA ") == normalise_city("malaga")
    assert normalise_city("Zürich") == "zurich"
