"""screening.yaml's FHIR part: linkId prefixes and declared Questionnaire maps, checked at load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.rules import LinkTarget, load_knowledge
from tests.files import replace_first

SCREENING = "screening.yaml"
CLINIC_FORM = "https://wellbeing-clinic.example.org/fhir/Questionnaire/first-visit"
MII_PHQ9 = (
    "https://www.medizininformatik-initiative.de/fhir/ext/modul-pro/Questionnaire/mii-qst-pro-phq-9"
)
CLINIC = f"rules/screening.yaml: questionnaire {CLINIC_FORM!r}: "


def edit(rules: Path, old: str, new: str) -> None:
    path = rules / SCREENING
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {SCREENING} exactly once"
    replace_first(path, old, new)


def test_the_bundled_example_clinic_map_is_loaded() -> None:
    screening = load_knowledge(PROJECT_ROOT / "rules").screening
    clinic = screening.questionnaires[CLINIC_FORM]
    assert clinic["mood-i"] == LinkTarget("item", "phq9", 9)
    assert clinic["mood-impact"] == LinkTarget("difficulty", "phq9")
    assert clinic["mood-sum"] == LinkTarget("total", "phq9")
    assert clinic["worry-g"] == LinkTarget("item", "gad7", 7)
    assert len(clinic) == 9 + 2 + 7
    assert screening.instruments["phq9"].link_id_prefixes == (
        "phq9",
        "phq-9",
        "phq_9",
        "phq.",
        "phq-phq9",
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "mood-a: phq9.1",
            "mood-a: phq8.1",
            CLINIC + "linkId 'mood-a': unknown instrument 'phq8' (phq9, gad7)",
        ),
        (
            "mood-i: phq9.9",
            "mood-i: phq9.12",
            CLINIC + "linkId 'mood-i': phq9 has items 1 to 9, not 12",
        ),
        (
            "worry-a: gad7.1",
            "worry-a: gad7.0",
            CLINIC + "linkId 'worry-a': gad7 has items 1 to 7, not 0",
        ),
        (
            "mood-b: phq9.2",
            "mood-b: phq9.1",
            CLINIC + "linkIds 'mood-a' and 'mood-b' are both phq9.1",
        ),
        (
            "mood-sum: phq9.total",
            "mood-sum: phq9.difficulty",
            CLINIC + "linkIds 'mood-impact' and 'mood-sum' are both phq9.difficulty",
        ),
        (
            "mood-a: phq9.1",
            "mood-a: phq9-1",
            CLINIC + "field 'link_ids.mood-a.value': 'phq9-1' must be <instrument>.<item number>, "
            "<instrument>.difficulty or <instrument>.total (for example phq9.9).",
        ),
        (
            f'url: "{CLINIC_FORM}"',
            f'url: "{MII_PHQ9}"',
            f"rules/screening.yaml: questionnaire {MII_PHQ9!r}: url is listed twice",
        ),
        (
            f'url: "{CLINIC_FORM}"',
            'url: "first-visit"',
            "rules/screening.yaml: questionnaire 'first-visit': field 'url': 'first-visit' is not "
            "a Questionnaire's canonical URL (http://, https:// or urn:, optionally with a "
            "|version suffix).",
        ),
        (
            f'url: "{CLINIC_FORM}"',
            f'url: "{CLINIC_FORM} v2"',
            f"rules/screening.yaml: questionnaire '{CLINIC_FORM} v2': field 'url': "
            f"'{CLINIC_FORM} v2' is not a Questionnaire's canonical URL (http://, https:// or "
            "urn:, optionally with a |version suffix).",
        ),
        (
            f'url: "{CLINIC_FORM}"',
            "url: 42",
            "rules/screening.yaml: questionnaire #3: field 'url': Not a valid string.",
        ),
        (
            '    name: "First visit (example clinic)"\n',
            '    name: "First visit (example clinic)"\n    owner: reception\n',
            CLINIC + "field 'owner': Unknown field.",
        ),
        (
            "link_id_prefixes: [gad7, gad-7, gad_7, gad.]",
            "link_id_prefixes: [gad7, gad-7, gad_7, gad., phq]",
            "rules/screening.yaml: instrument 'gad7': link_id_prefixes: 'phq' is also a prefix "
            "of 'phq9'",
        ),
        (
            "link_id_prefixes: [gad7, gad-7, gad_7, gad.]",
            "link_id_prefixes: [GAD7]",
            "rules/screening.yaml: instrument 'gad7': field 'link_id_prefixes.0': 'GAD7' must be "
            "3 to 40 lowercase letters and digits, with single - _ or . between them, maybe "
            "ending in the one separator it takes (linkIds are matched case-insensitively).",
        ),
        (
            "link_id_prefixes: [gad7, gad-7, gad_7, gad.]",
            "link_id_prefixes: [gd]",
            "rules/screening.yaml: instrument 'gad7': field 'link_id_prefixes.0': 'gd' must be "
            "3 to 40 lowercase letters and digits, with single - _ or . between them, maybe "
            "ending in the one separator it takes (linkIds are matched case-insensitively).",
        ),
    ],
    ids=[
        "unknown instrument",
        "item number too high",
        "item number 0",
        "two linkIds for one item",
        "two linkIds for one difficulty question",
        "not an item",
        "a URL listed twice",
        "not a URL",
        "a URL with a space",
        "a URL that is a number",
        "an unknown field",
        "a prefix of two instruments",
        "an uppercase prefix",
        "a prefix too short",
    ],
)
def test_a_bad_fhir_entry_names_the_file_the_entry_and_the_problem(
    rules_copy: Path, old: str, new: str, message: str
) -> None:
    edit(rules_copy, old, new)
    with pytest.raises(ConfigError) as caught:
        load_knowledge(rules_copy)
    assert str(caught.value) == message


@pytest.mark.slow
def test_matcher_check_refuses_a_bad_questionnaire_map(rules_copy: Path) -> None:
    edit(rules_copy, "mood-a: phq9.1", "mood-a: phq8.1")
    bad = subprocess.run(
        [sys.executable, "-m", "matcher", "check", "--rules", str(rules_copy)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        f"matcher check: {CLINIC}linkId 'mood-a': unknown instrument 'phq8' (phq9, gad7)"
    )
