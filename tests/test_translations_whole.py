"""Each translated clinical rationale says all that the English says: no sentence dropped (such as
"no guideline covers stress on its own") and no figure added or lost (such as an age range the
English no longer gives). A cheap guard for translations recorded without being re-read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from matcher import PROJECT_ROOT
from matcher.i18n import SHIPPED_LANGUAGES
from matcher.yamlfile import load_yaml

RULES = PROJECT_ROOT / "rules"
OTHER_LANGUAGES = [code for code in SHIPPED_LANGUAGES if code != "en"]
# Translations that say the same in more sentences, reviewed: German splits the first one.
SPLIT_ON_PURPOSE = {("de", "young_people.couple_request_one_to_one")}


def english_rationales() -> dict[str, str]:
    """Every clinical rule's rationale, by rule id."""
    texts: dict[str, str] = {}
    for path in sorted((RULES / "clinical").glob("*.yaml")):
        for rule in load_yaml(Path(path))["rules"]:
            if "rationale" in rule:
                texts[rule["id"]] = rule["rationale"]
    return texts


def sentence_count(text: str) -> int:
    """How many sentences a text has (ends at . ! ? or the Arabic question mark)."""
    return len([s for s in re.split(r"(?<=[.!?؟])\s+", text.strip()) if s])


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_translated_rationale_has_the_sentences_and_figures_of_the_english(
    language: str,
) -> None:
    translated = load_yaml(RULES / "translations" / f"{language}.yaml")["clinical"]
    differing = []
    for rule_id, english in english_rationales().items():
        text = translated[rule_id]
        if (language, rule_id) not in SPLIT_ON_PURPOSE and sentence_count(text) != sentence_count(
            english
        ):
            differing.append(f"{rule_id}: {sentence_count(english)} sentences in English")
        if sorted(re.findall(r"\d+", text)) != sorted(re.findall(r"\d+", english)):
            differing.append(f"{rule_id}: figures {re.findall(r'[0-9]+', english)} in English")
    assert differing == []
