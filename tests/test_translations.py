"""The clinical texts in each shipped language (rules/translations/<language>.yaml, matcher/localise.py):
whole for the bundled rules, missing ones named by `matcher check`, English marked when missing,
placeholders kept, questionnaires only in official wording, crisis words never shorter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.i18n import SHIPPED_LANGUAGES
from matcher.localise import Untranslated, official_questionnaire
from matcher.matching import Matcher
from matcher.web import create_app

OTHER_LANGUAGES = [code for code in SHIPPED_LANGUAGES if code != "en"]
ROSTER = PROJECT_ROOT / "therapists.yaml"
EMDR_RATIONALE_ES = (
    '  ptsd.emdr_to_check: "El EMDR reprocesa recuerdos angustiosos sin necesidad de '
    "relatarlos con detalle. NICE lo recomienda cuando el trauma ocurrió hace más de "
    "tres meses y no estuvo relacionado con un combate, así que un terapeuta lo compr"
    'obará con usted."\n'
)


def without_emdr_rationale(rules: Path) -> None:
    """Take the Spanish rationale of rule ptsd.emdr_to_check out of a rules copy."""
    spanish = rules / "translations" / "es.yaml"
    text = spanish.read_text(encoding="utf-8")
    assert EMDR_RATIONALE_ES in text
    spanish.write_text(text.replace(EMDR_RATIONALE_ES, ""), encoding="utf-8")


def test_every_shipped_language_has_every_clinical_text(matcher: Matcher) -> None:
    for language in OTHER_LANGUAGES:
        assert [str(m) for m in matcher.localised(language)[1]] == [], language


def test_the_shipped_languages_are_english_and_the_five_of_issue_17() -> None:
    assert sorted(SHIPPED_LANGUAGES) == ["ar", "de", "en", "es", "fr", "nl"]


def test_a_missing_text_is_the_english_marked_never_empty(rules_copy: Path) -> None:
    without_emdr_rationale(rules_copy)
    held = Matcher.from_files(rules_copy, ROSTER)
    knowledge, missing = held.localised("es")
    assert [str(m) for m in missing] == [
        "translations/es.yaml: clinical/trauma.yaml: rule 'ptsd.emdr_to_check': rationale: missing in es"
    ]
    rationale = knowledge.rules_by_id["ptsd.emdr_to_check"].rationale
    assert isinstance(rationale, Untranslated)
    assert rationale == held.knowledge.rules_by_id["ptsd.emdr_to_check"].rationale


def test_the_api_marks_an_english_fallback_and_keeps_the_rest_in_spanish(
    rules_copy: Path, tmp_path: Path
) -> None:
    without_emdr_rationale(rules_copy)
    app = create_app(
        {
            "TESTING": True,
            "RATE_LIMIT": "",
            "STATE_DIR": str(tmp_path / "state"),
            "RULES_DIR": str(rules_copy),
        }
    )
    body = (
        app.test_client()
        .post(
            "/api/v1/match",
            json={"difficulties": ["ptsd"]},
            headers={"Accept-Language": "es"},
        )
        .get_json()
    )
    reasons = {r["rule"]: r for m in body["modalities"] for r in m["reasons"]}
    assert reasons["ptsd.emdr_to_check"]["fallback"] is True
    assert reasons["ptsd.emdr_to_check"]["text"].startswith(
        "Porque mencionó las secuelas de un hecho traumático: EMDR reprocesses distressing"
    )
    assert "fallback" not in reasons["ptsd.tf_cbt"]
    assert reasons["ptsd.tf_cbt"]["text"].startswith(
        "Porque mencionó las secuelas de un hecho traumático: La TCC individual centrada"
    )


@pytest.mark.slow
def test_matcher_check_fails_on_a_missing_translation_and_names_it(rules_copy: Path) -> None:
    without_emdr_rationale(rules_copy)
    bad = subprocess.run(
        [sys.executable, "-m", "matcher", "check", "--rules", str(rules_copy)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        "matcher check: rules/translations/es.yaml: clinical/trauma.yaml: rule 'ptsd.emdr_to_check': rationale: "
        "missing in es",
        "matcher check: 1 missing translations (shown in English, marked, until translated; "
        "MATCHER_LANGUAGES lists the languages offered)",
    ]


def test_a_translation_that_changes_a_placeholder_is_english_and_named(rules_copy: Path) -> None:
    spanish = rules_copy / "translations" / "es.yaml"
    text = spanish.read_text(encoding="utf-8")
    spanish.write_text(
        text.replace(
            'passed: "Habla {wanted}, como pidió"', 'passed: "Habla {idioma}, como pidió"'
        ),
        encoding="utf-8",
    )
    held = Matcher.from_files(rules_copy, ROSTER)
    knowledge, missing = held.localised("es")
    assert [str(m) for m in missing] == [
        "translations/es.yaml: matching.yaml: hard_constraints 'language': passed (placeholders "
        "must be the English ones: {wanted}): missing in es"
    ]
    passed = next(c.passed for c in knowledge.matching.hard_constraints if c.id == "language")
    assert isinstance(passed, Untranslated) and passed == "Speaks {wanted}, as you asked"


def test_a_constraints_outcomes_and_the_gazetteers_words_are_translated_and_checked(
    rules_copy: Path,
) -> None:
    spanish = rules_copy / "translations" / "es.yaml"
    text = spanish.read_text(encoding="utf-8")
    online_only = 'online_only: "No atiende en persona en {place} (solo trabaja en línea)", '
    district = '    district: "{name} (centro del distrito, no su dirección)"\n'
    assert online_only in text and district in text
    spanish.write_text(text.replace(online_only, "").replace(district, ""), encoding="utf-8")
    held = Matcher.from_files(rules_copy, ROSTER)
    knowledge, missing = held.localised("es")
    assert sorted(str(m) for m in missing) == [
        "translations/es.yaml: gazetteer.yaml: describe: district: missing in es",
        "translations/es.yaml: matching.yaml: hard_constraints 'distance': outcomes: online_only: "
        "missing in es",
    ]
    distance = next(c for c in knowledge.matching.hard_constraints if c.id == "distance")
    assert isinstance(distance.outcomes["online_only"], Untranslated)
    licensure = next(c for c in knowledge.matching.hard_constraints if c.id == "licensure")
    assert licensure.outcomes["region_needed"] == (
        "Con habilitación solo en {held}: díganos en qué estado o región de {place} estará"
    )
    places = knowledge.vocabulary.gazetteer
    assert places is not None
    assert places.describe["city"] == "{name} (centro de la ciudad, no su dirección)"
    assert isinstance(places.describe["district"], Untranslated)


def test_a_questionnaire_translation_must_be_whole_and_attributed(matcher: Matcher) -> None:
    phq9 = matcher.knowledge.screening.instruments["phq9"]
    partial = {"screening.yaml": {"questionnaires": {"phq9": {"stem": "x", "items": {}}}}}
    with pytest.raises(ConfigError) as raised:
        official_questionnaire(partial, phq9, "rules/translations/xx.yaml")
    assert str(raised.value) == (
        "rules/translations/xx.yaml: screening.yaml: questionnaires: phq9: source is required "
        "(official wording only)"
    )
    assert official_questionnaire({}, phq9, "rules/translations/xx.yaml") is None


def test_no_bundled_language_carries_an_unofficial_questionnaire(matcher: Matcher) -> None:
    # No official Pfizer translation is available to the project yet: every language shows the
    # PHQ-9 and GAD-7 in English with a note, never a translation of our own.
    for language in OTHER_LANGUAGES:
        table, display = matcher.translations[language]
        for instrument in matcher.knowledge.screening.instruments.values():
            assert official_questionnaire(table, instrument, display) is None


def _what_a_person_reads(held: Matcher, country: str | None) -> dict[str, str]:
    safety = held.safety(["self_harm_thoughts"], country)
    crisis = held.knowledge.crisis
    return {
        "message": safety["message"],
        "follow_up": crisis.follow_up,
        "no_list": crisis.no_list,
        **{
            key: text.format(emergency=safety["emergency_number"])
            for key, text in crisis.contact_promise.items()
        },
    }


@pytest.mark.parametrize("country", [None, "NL", "ES", "GB", "US"])
@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_crisis_words_are_never_shorter_than_the_english(
    matcher: Matcher, language: str, country: str | None
) -> None:
    english = _what_a_person_reads(matcher, country)
    translated = _what_a_person_reads(matcher.in_language(language), country)
    for key, text in english.items():
        assert len(translated[key]) >= len(text), (key, translated[key])
        assert not isinstance(translated[key], Untranslated)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_the_crisis_numbers_stay_the_countrys_in_every_language(
    matcher: Matcher, language: str
) -> None:
    safety = matcher.in_language(language).safety(["self_harm_thoughts"], "NL")
    assert safety["emergency_number"] == "112"
    assert [r["name"] for r in safety["resources"]] == ["113 Zelfmoordpreventie", "Alarmnummer"]
    assert "112" in safety["message"] and "fallback" not in safety


def test_the_api_in_spanish_explains_in_spanish_with_the_same_ids(client: FlaskClient) -> None:
    intake = {"difficulties": ["ptsd"], "risk": {"self_harm_thoughts": True}}
    english = client.post("/api/v1/match", json=intake).get_json()
    answer = client.post(
        "/api/v1/match", json=intake, headers={"Accept-Language": "es-ES,es;q=0.9"}
    )
    spanish = answer.get_json()
    assert answer.headers["Content-Language"] == "es"
    assert [m["id"] for m in spanish["modalities"]] == [m["id"] for m in english["modalities"]]
    assert [r["rule"] for m in spanish["modalities"] for r in m["reasons"]] == [
        r["rule"] for m in english["modalities"] for r in m["reasons"]
    ]
    assert spanish["modalities"][0]["name"] == "TCC centrada en el trauma"
    assert spanish["safety"]["message"].startswith(
        "Nos ha dicho que ha tenido pensamientos de hacerse daño"
    )
    assert spanish["safety"]["urgent"] is True
    assert spanish["alerts"][0]["rule"] == "safety.self_harm"
