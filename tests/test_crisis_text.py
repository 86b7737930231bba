"""rules/crisis.yaml: the crisis message says each thing once, and its new texts are checked at load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from matcher.errors import ConfigError
from matcher.rules import load_knowledge
from matcher.safety import safety_json
from tests.conftest import RULES_DIR
from tests.files import replace_first

CRISIS = load_knowledge(RULES_DIR).crisis


def sentences(message: str) -> list[str]:
    """The message cut after each full stop, question or exclamation mark."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", message) if s.strip()]


@pytest.mark.parametrize("locale", [*sorted(CRISIS.locales), None, "XX"])
def test_the_crisis_message_says_each_sentence_and_the_emergency_number_once(
    locale: str | None,
) -> None:
    safety = safety_json(["self_harm_thoughts"], CRISIS, locale)
    said = sentences(safety["message"])
    assert len(said) == len(set(said)), said
    naming_the_number = [s for s in said if safety["emergency_number"] in s]
    assert naming_the_number == [
        f"If you might act on these thoughts or you are in danger now, call "
        f"{safety['emergency_number']} now."
    ]


def test_without_a_locale_the_message_reads_in_full() -> None:
    assert safety_json(["phq9_item9"], CRISIS, None)["message"] == (
        "You told us you have had thoughts of harming yourself or that you would be better off "
        "dead. You deserve support now, not only when therapy starts. If you might act on these "
        "thoughts or you are in danger now, call your local emergency number now. You can also "
        "go to the nearest emergency department. Before any booking, a clinician from the "
        "clinic should talk with you first."
    )


def edit(rules: Path, old: str, new: str) -> None:
    replace_first(rules / "crisis.yaml", old, new)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "urgent_path_settings: [individual]",
            "urgent_path_settings: [individual, solo]",
            "rules/crisis.yaml: urgent_path_settings: unknown setting 'solo'",
        ),
        (
            "do not wait for us: call {emergency} now.",
            "do not wait for us: call {number} now.",
            "rules/crisis.yaml: do_not_wait: unknown placeholder {number} (use {emergency})",
        ),
        (
            "Reach the on-call clinician now: {on_call}.",
            "Reach the on-call clinician now: {clinician}.",
            "rules/crisis.yaml: staff_protocol step 4: unknown placeholder {clinician} "
            "(use {emergency}, {on_call})",
        ),
        (
            "Reach the on-call clinician now: {on_call}.",
            "Reach the on-call clinician now.",
            "rules/crisis.yaml: staff_protocol: exactly one step must say {on_call} "
            "(how to reach the clinician)",
        ),
        (
            '  email: "A person from the clinic will e-mail you."\n',
            "",
            "rules/crisis.yaml: field 'contact_promise.email': Missing data for required field.",
        ),
    ],
)
def test_a_broken_crisis_text_stops_loading_with_the_reason(
    rules_copy: Path, old: str, new: str, problem: str
) -> None:
    edit(rules_copy, old, new)
    with pytest.raises(ConfigError) as raised:
        load_knowledge(rules_copy)
    assert str(raised.value) == problem
