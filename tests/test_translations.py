"""The clinical texts in each shipped language (rules/translations/<language>.yaml, matcher/localise.py):
whole for the bundled rules, missing ones named by `matcher check`, English marked when missing,
placeholders kept, questionnaires only in official wording, crisis words never shorter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.i18n import SHIPPED_LANGUAGES
from matcher.localise import Untranslated, localise, official_questionnaire
from matcher.matching import Matcher
from matcher.web import create_app
from matcher.yamlfile import load_yaml
from tests.forms import form_token

OTHER_LANGUAGES = [code for code in SHIPPED_LANGUAGES if code != "en"]


def run_matcher(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the matcher command in the project root, capturing what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "matcher", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )


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


def app_on_rules(rules_dir: Path, tmp_path: Path) -> Flask:
    """The app on an edited copy of the rules, its state in `tmp_path`."""
    return create_app(
        {
            "TESTING": True,
            "RATE_LIMIT": "",
            "STATE_DIR": str(tmp_path / "state"),
            "RULES_DIR": str(rules_dir),
        }
    )


def test_the_api_marks_an_english_fallback_and_keeps_the_rest_in_spanish(
    rules_copy: Path, tmp_path: Path
) -> None:
    without_emdr_rationale(rules_copy)
    app = app_on_rules(rules_copy, tmp_path)
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
    bad = run_matcher("check", "--rules", str(rules_copy))
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
        "translations/es.yaml: matching.yaml: hard_constraints 'language': passed: es: "
        "placeholders must be the English ones ({wanted}): {idioma} is not in the English; "
        "{wanted} is missing"
    ]
    passed = next(c.passed for c in knowledge.matching.hard_constraints if c.id == "language")
    assert isinstance(passed, Untranslated) and passed == "Speaks {wanted}, as you asked"


LANGUAGE_PASSED_ES = 'passed: "Habla {wanted}, como pidió"'


def with_spanish(rules: Path, english_words: str, spanish_words: str) -> None:
    """Replace some words of a rules copy's Spanish translation file (they must be there)."""
    spanish = rules / "translations" / "es.yaml"
    text = spanish.read_text(encoding="utf-8")
    assert english_words in text
    spanish.write_text(text.replace(english_words, spanish_words), encoding="utf-8")


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (
            'passed: "Habla {wanted, como pidió"',
            "malformed braces (expected '}' before end of string); a placeholder is written "
            "{name}, a brace {{ or }}",
        ),
        (
            'passed: "Habla {wanted}}, como pidió"',
            "malformed braces (Single '}' encountered in format string); a placeholder is "
            "written {name}, a brace {{ or }}",
        ),
        (
            'passed: "Habla {wanted} y {offered}, como pidió"',
            "placeholders must be the English ones ({wanted}): {offered} is not in the English",
        ),
        (
            'passed: "Habla {wanted:d}, como pidió"',
            "placeholders must be the English ones ({wanted}): {wanted:d} is not in the English; "
            "{wanted} is missing",
        ),
    ],
)
def test_a_translation_with_malformed_braces_is_english_and_named(
    rules_copy: Path, written: str, problem: str
) -> None:
    with_spanish(rules_copy, LANGUAGE_PASSED_ES, written)
    held = Matcher.from_files(rules_copy, ROSTER)
    knowledge, missing = held.localised("es")
    assert [str(m) for m in missing] == [
        f"translations/es.yaml: matching.yaml: hard_constraints 'language': passed: es: {problem}"
    ]
    passed = next(c.passed for c in knowledge.matching.hard_constraints if c.id == "language")
    assert isinstance(passed, Untranslated) and passed == "Speaks {wanted}, as you asked"


def test_the_service_shows_the_english_for_a_malformed_translation_never_a_500(
    rules_copy: Path, tmp_path: Path
) -> None:
    with_spanish(rules_copy, LANGUAGE_PASSED_ES, 'passed: "Habla {wanted, como pidió"')
    app = app_on_rules(rules_copy, tmp_path)
    client = app.test_client()
    intake = {"difficulties": ["ptsd"], "preferences": {"languages": ["es"]}, "limit": 1}
    answer = client.post("/api/v1/match", json=intake, headers={"Accept-Language": "es"})
    assert answer.status_code == 200
    reasons = {r["rule"]: r for r in answer.get_json()["matches"][0]["reasons"]}
    assert reasons["constraint.language"] == {
        "rule": "constraint.language",
        "text": "Speaks español, as you asked",
        "fallback": True,
    }
    assert reasons["constraint.accepting"] == {
        "rule": "constraint.accepting",
        "text": "Acepta nuevos pacientes",
    }
    spanish = {"Accept-Language": "es"}
    token = form_token(client.get("/form", headers=spanish).get_data(as_text=True))
    form = {"difficulties": "ptsd", "languages": "es", "csrf_token": token}
    page = client.post("/results", data=form, headers=spanish)
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert '<li lang="en" dir="ltr">Speaks español, as you asked</li>' in shown


@pytest.mark.slow
def test_matcher_check_names_a_malformed_translation(rules_copy: Path) -> None:
    with_spanish(rules_copy, LANGUAGE_PASSED_ES, 'passed: "Habla {wanted, como pidió"')
    bad = run_matcher("check", "--rules", str(rules_copy))
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        "matcher check: rules/translations/es.yaml: matching.yaml: hard_constraints 'language': "
        "passed: es: malformed braces (expected '}' before end of string); a placeholder is "
        "written {name}, a brace {{ or }}",
        "matcher check: 1 translations that cannot be used (shown in English, marked, until fixed)",
    ]


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


# --- how people pay: rules/payment.yaml's words in the person's language ----------------------

SANITAS_ES = "Sanitas (Seguro médico privado en España)"


@pytest.fixture()
def in_spanish(client: FlaskClient) -> FlaskClient:
    """A browser whose language is Spanish."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-ES,es;q=0.9"
    return client


def _between(html: str, start: str, end: str) -> str:
    begins = html.index(start)
    return html[begins : html.index(end, begins)]


def test_the_payment_step_and_check_your_answers_name_schemes_in_the_persons_language(
    in_spanish: FlaskClient,
) -> None:
    step = in_spanish.get("/find/payment").get_data(as_text=True)
    plans = _between(step, '<select id="field-payment_plan"', "</select>")
    assert '<optgroup label="Seguro médico privado en España">' in plans
    assert '<option value="es_private:sanitas">Sanitas</option>' in plans
    assert (
        '<option value="gb_nhs">NHS, la sanidad pública británica (NHS Talking Therapies)</option>'
    ) in plans
    assert "Spanish private health insurance" not in plans
    token = form_token(step)
    chosen = {"payment_method": "insurance", "payment_plan": "es_private:sanitas"}
    posted = in_spanish.post("/find/payment", data={**chosen, "csrf_token": token})
    assert posted.status_code == 303
    check = in_spanish.get("/find/check").get_data(as_text=True)
    assert SANITAS_ES in check and "Spanish private health insurance" not in check


def test_results_cards_say_the_plan_and_its_network_in_the_persons_language(
    in_spanish: FlaskClient,
) -> None:
    token = form_token(in_spanish.get("/form").get_data(as_text=True))
    form = {
        "difficulties": "ptsd",
        "payment_method": "insurance",
        "payment_plan": "es_private:sanitas",
        "csrf_token": token,
    }
    page = in_spanish.post("/results", data=form).get_data(as_text=True)
    card = _between(page, 'id="therapist-t-001"', "</article>")
    assert (
        f"<li>Acepta {SANITAS_ES}: concertado (comprobado el 20 de noviembre de 2026)</li>"
    ) in card


def test_a_profile_lists_the_plans_a_therapist_takes_in_the_persons_language(
    client: FlaskClient, in_spanish: FlaskClient
) -> None:
    profile = in_spanish.get("/therapists/t-001").get_data(as_text=True)
    assert (
        "<dt>Seguros y sistemas públicos</dt>"
        f'<dd id="profile-plans">{SANITAS_ES}: concertado; '
        "DKV (Seguro médico privado en España): reembolsado después de que usted pague</dd>"
    ) in profile
    english = client.get("/therapists/t-001", headers={"Accept-Language": "en"})
    assert (
        '<dd id="profile-plans">Sanitas (Spanish private health insurance): in network; '
        "DKV (Spanish private health insurance): reimbursed after you pay</dd>"
    ) in english.get_data(as_text=True)
    nobody = in_spanish.get("/therapists/t-002").get_data(as_text=True)
    assert '<dd id="profile-plans">Ninguno: solo pago privado</dd>' in nobody


def test_the_api_in_spanish_names_plans_and_network_words_in_spanish(
    in_spanish: FlaskClient,
) -> None:
    def payer_lines(plan: dict[str, str]) -> list[str]:
        intake = {
            "difficulties": ["ptsd", "depression"],
            "preferences": {"payment": {"method": "insurance", **plan}},
        }
        body = in_spanish.post("/api/v1/match", json=intake).get_json()
        return [
            line["text"]
            for match in body["matches"]
            for line in match["reasons"] + match["caveats"]
            if line["rule"] == "constraint.payer"
        ]

    assert payer_lines({"scheme": "es_private", "payer": "sanitas"})[0] == (
        f"Acepta {SANITAS_ES}: concertado (comprobado el 20 de noviembre de 2026)"
    )
    assert payer_lines({"scheme": "de_statutory"})[0] == (
        "Acepta Seguro médico público alemán (GKV): con Kassensitz (autorizado a facturar al "
        "seguro público) (comprobado el 2 de junio de 2026)"
    )


def test_a_missing_payment_text_is_the_english_marked_and_named(rules_copy: Path) -> None:
    with_spanish(rules_copy, 'es_private: {label: "Seguro médico privado en España"}', "")
    held = Matcher.from_files(rules_copy, ROSTER)
    knowledge, missing = held.localised("es")
    assert [str(m) for m in missing] == [
        "translations/es.yaml: payment.yaml: scheme 'es_private': label: missing in es"
    ]
    payment = knowledge.vocabulary.payment
    assert payment is not None
    label = payment.schemes["es_private"].label
    assert isinstance(label, Untranslated) and label == "Spanish private health insurance"
    assert payment.network_words("es_private", "in_network") == "concertado"


# --- a translation knows the English it was made from (rules/translations/made_from/) ----------

EMDR_ENGLISH = (
    "NICE recommends it when the trauma was more than three months ago and not related to "
    "combat, so a therapist will check that with you."
)
EMDR_ENGLISH_NOW = (
    "NICE recommends it when the trauma was more than a month ago and not related to "
    "combat, so a therapist will check that with you."
)


def with_new_emdr_english(rules: Path) -> None:
    """Change the English rationale of rule ptsd.emdr_to_check in a rules copy."""
    trauma = rules / "clinical" / "trauma.yaml"
    text = trauma.read_text(encoding="utf-8")
    assert text.count(EMDR_ENGLISH) == 1
    trauma.write_text(text.replace(EMDR_ENGLISH, EMDR_ENGLISH_NOW), encoding="utf-8")


def stale_line(language: str) -> str:
    return (
        f"translations/{language}.yaml: clinical/trauma.yaml: rule 'ptsd.emdr_to_check': "
        f"rationale: {language}: English changed since this was translated"
    )


def test_a_translation_whose_english_changed_is_the_new_english_marked(rules_copy: Path) -> None:
    with_new_emdr_english(rules_copy)
    held = Matcher.from_files(rules_copy, ROSTER)
    for language in OTHER_LANGUAGES:
        knowledge, missing = held.localised(language)
        assert [str(m) for m in missing] == [stale_line(language)]
        rationale = knowledge.rules_by_id["ptsd.emdr_to_check"].rationale
        assert isinstance(rationale, Untranslated) and rationale.endswith(EMDR_ENGLISH_NOW)
        # The rest of the language is untouched.
        tf_cbt = knowledge.rules_by_id["ptsd.tf_cbt"].rationale
        assert not isinstance(tf_cbt, Untranslated)


def test_the_api_marks_a_stale_translation_as_english(rules_copy: Path, tmp_path: Path) -> None:
    with_new_emdr_english(rules_copy)
    app = app_on_rules(rules_copy, tmp_path)
    answer = app.test_client().post(
        "/api/v1/match", json={"difficulties": ["ptsd"]}, headers={"Accept-Language": "es"}
    )
    reasons = {r["rule"]: r for m in answer.get_json()["modalities"] for r in m["reasons"]}
    assert reasons["ptsd.emdr_to_check"]["fallback"] is True
    assert reasons["ptsd.emdr_to_check"]["text"].endswith(EMDR_ENGLISH_NOW)
    assert "fallback" not in reasons["ptsd.tf_cbt"]


def test_a_translation_edited_with_its_english_is_taken_as_made_from_it(rules_copy: Path) -> None:
    with_new_emdr_english(rules_copy)
    with_spanish(rules_copy, EMDR_RATIONALE_ES, EMDR_RATIONALE_ES.replace("tres meses", "un mes"))
    held = Matcher.from_files(rules_copy, ROSTER)
    t = held.translator("es")
    knowledge = localise(held.knowledge, t)
    assert t.missing == []
    assert "hace más de un mes" in knowledge.rules_by_id["ptsd.emdr_to_check"].rationale
    assert t.unrecorded() == ["clinical/ptsd.emdr_to_check"]
    assert [str(m) for m in held.localised("nl")[1]] == [stale_line("nl")]


def test_a_made_from_record_that_is_not_two_fingerprints_is_refused(rules_copy: Path) -> None:
    record = rules_copy / "translations" / "made_from" / "es.yaml"
    record.write_text("language: es\ntexts:\n  clinical/ptsd.emdr: 'abc'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        Matcher.from_files(rules_copy, ROSTER)
    assert str(raised.value) == (
        "rules/translations/made_from/es.yaml: texts: 'clinical/ptsd.emdr': must be two "
        "fingerprints, the English's and the translation's (rewrite the file with "
        "`matcher translations record`)"
    )


@pytest.mark.slow
def test_matcher_check_reports_a_changed_english_until_it_is_recorded_again(
    rules_copy: Path,
) -> None:
    with_new_emdr_english(rules_copy)
    rules = str(rules_copy)
    stale = run_matcher("check", "--rules", rules)
    assert stale.returncode == 1
    assert stale.stderr.splitlines() == [
        *(f"matcher check: rules/{stale_line(code)}" for code in ("ar", "de", "es", "fr", "nl")),
        "matcher check: 5 translations whose English changed since (shown in English, marked, "
        "until updated, or reviewed and recorded with `matcher translations record`)",
    ]
    # Recording only what is new reviews nothing: still stale.
    only_new = run_matcher("translations", "record", "--new", "--rules", rules)
    assert only_new.returncode == 0
    assert run_matcher("check", "--rules", rules).stderr == stale.stderr
    # After review: recorded again for Spanish, then for every language.
    spanish = run_matcher("translations", "record", "es", "--rules", rules)
    texts = len(load_yaml(rules_copy / "translations" / "made_from" / "es.yaml")["texts"])
    assert spanish.stdout.splitlines() == [
        f"matcher translations: rules/translations/made_from/es.yaml: {texts} texts, 1 recorded "
        "anew (1 whose English had changed)"
    ]
    still = run_matcher("check", "--rules", rules)
    assert stale_line("es") not in still.stderr and stale_line("nl") in still.stderr
    assert run_matcher("translations", "record", "--rules", rules).returncode == 0
    clean = run_matcher("check", "--rules", rules)
    assert clean.returncode == 0 and clean.stderr == ""
    assert clean.stdout.startswith("matcher check: ok:")
