"""API and form errors in the language asked for (matcher/web/messages.py): the messages are
said in it, the field paths, codes and the values the request sent are never changed."""

from __future__ import annotations

from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from matcher.i18n import SHIPPED_LANGUAGES, TRANSLATIONS_DIR
from matcher.web.messages import FIXED, TEMPLATES, translated
from tests.forms import form_token

BAD: dict[str, Any] = {
    "difficulties": ["grief", "grief"],
    "screening": {"phq9": [1, 2, 7]},
    "preferences": {"format": "in_person", "languages": ["xx"], "age": "abc"},
    "risk": {"self_harm_thoughts": "maybe"},
    "location": {"country": "es"},
    "extra": 1,
}


def test_a_422_in_spanish_says_everything_in_spanish_with_the_same_paths_and_values(
    client: FlaskClient,
) -> None:
    english = client.post("/api/v1/match", json=BAD, headers={"Accept-Language": "en"})
    spanish = client.post("/api/v1/match", json=BAD, headers={"Accept-Language": "es"})
    assert (spanish.status_code, spanish.headers["Content-Language"]) == (422, "es")
    body = spanish.get_json()
    assert (body["code"], body["status"]) == (422, "Unprocessable Entity")
    assert body["message"] == "La solicitud no es válida; vea los errores por campo."
    assert sorted(body["errors"]) == sorted(english.get_json()["errors"])
    assert body["errors"] == {
        "difficulties": ["'grief' aparece dos veces."],
        "extra": ["Campo desconocido."],
        "location.country": [
            "'es' no es un código de país ISO 3166-1 alfa-2 (¿quería decir 'ES'?)."
        ],
        "preferences.age": ["No es un número entero válido."],
        "preferences.languages.0": ["'xx' no es un código de idioma ISO 639-1."],
        "risk.self_harm_thoughts": [
            'Responda sí o no (true/false, "yes"/"no", 1/0), no \'maybe\'.'
        ],
        "screening.phq9": [
            "El PHQ-9 está incompleto o no es válido: la pregunta 3 debe ser 0, 1, 2 o 3, no 7; "
            "faltan las preguntas 4, 5, 6, 7, 8 y 9. Hacen falta todas las preguntas: una "
            "respuesta que falta nunca cuenta como 0."
        ],
    }


def test_a_rule_across_fields_names_its_fields_as_the_api_does(client: FlaskClient) -> None:
    intake = {"difficulties": ["grief"], "preferences": {"format": "in_person"}}
    body = client.post("/api/v1/match", json=intake, headers={"Accept-Language": "nl"}).get_json()
    assert body["errors"] == {"preferences.city": ["Verplicht als format in_person is."]}


def test_an_api_error_in_english_is_as_it_always_was(client: FlaskClient) -> None:
    body = client.post("/api/v1/match", json={"difficulties": []}).get_json()
    assert body["message"] == "The request is not valid; see errors by field."
    assert body["errors"] == {"difficulties": ["Length must be between 1 and 10."]}


@pytest.mark.parametrize(
    ("path", "language", "message"),
    [
        ("/api/v1/nothing-here", "de", "Diesen Endpunkt gibt es nicht."),
        ("/api/v1/therapists/t-999", "fr", "Aucun thérapeute avec l'id 't-999'."),
    ],
)
def test_other_api_errors_are_in_the_language_too(
    client: FlaskClient, path: str, language: str, message: str
) -> None:
    answer = client.get(path, headers={"Accept-Language": language})
    assert answer.headers["Content-Language"] == language
    assert answer.get_json()["message"] == message


@pytest.mark.parametrize("language", [code for code in SHIPPED_LANGUAGES if code != "en"])
def test_every_validation_message_has_its_translation(language: str) -> None:
    with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    missing = [m for m in (*FIXED, *TEMPLATES) if not (catalog.get(m) and catalog.get(m).string)]
    assert missing == []


def test_a_message_no_template_knows_stays_as_the_domain_wrote_it(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "nl"}):
        assert translated("Something only a newer schema says.") == (
            "Something only a newer schema says."
        )
        assert translated("Must be one of: online, in_person, any.") == (
            "Moet een van deze zijn: online, in_person, any."
        )


def test_a_form_shows_the_apis_message_in_the_page_language(client: FlaskClient) -> None:
    headers = {"Accept-Language": "es"}
    token = form_token(client.get("/form", headers=headers).get_data(as_text=True))
    sent = {
        "therapist": "t-001",
        "difficulties": "grief",
        "contact_name": "Sam",
        "consent": "yes",
        "csrf_token": token,
    }
    answer = client.post("/ask/send", data=sent, headers=headers)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Indique una dirección de correo electrónico o un teléfono." in html
    assert "Give an email address or a phone number." not in html


def test_a_refused_status_change_names_both_statuses_in_words(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert translated("a closed referral cannot become contacted") == (
            "una derivación cerrada no puede pasar a contactada"
        )
