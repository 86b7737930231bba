"""Every page in every shipped language: no English left in the interface (the rendered text is
compared with the catalogs and the clinical texts), `<html lang dir>` right, the switcher keeps
the person's answers, the API says which language it answered in."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from matcher.i18n import SHIPPED_LANGUAGES, TRANSLATIONS_DIR
from matcher.matching import Matcher
from matcher.storage.accounts import Accounts
from tests.forms import form_token, staff_logged_in

OTHER_LANGUAGES = [code for code in SHIPPED_LANGUAGES if code != "en"]
DIRECTION = {"ar": "rtl"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
STAFF = ("receptionist", "a-long-receptionist-password")


class Text(HTMLParser):
    """The words a person reads on a page, leaving out what is marked as another language."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.stack: list[tuple[str, bool]] = []  # (tag, inside another language)
        self.words: list[str] = []
        self.html_lang = self.html_dir = ""

    def _other(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.html_lang, self.html_dir = found.get("lang") or "", found.get("dir") or ""
        # The page's own lang is checked apart; inside it, lang="en" marks English on purpose.
        marked = None if tag == "html" else found.get("lang")
        other = self._other() or (marked not in (None, self.language))
        other = other or tag in ("script", "style", "code")
        if not other:
            for name in ("aria-label", "placeholder", "title", "alt"):
                if found.get(name):
                    self.words.append(str(found[name]))
        if tag not in VOID:
            self.stack.append((tag, other))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not self._other():
            self.words.append(" ".join(data.split()))


def read(html: str, language: str) -> Text:
    """Parse a page."""
    parser = Text(language)
    parser.feed(html)
    return parser


def _fragments(english: str) -> Iterator[str]:
    # The words between placeholders; short ones ("or", "Fee") could be in any language.
    for literal, _, _, _ in string.Formatter().parse(english):
        for piece in re.split(r"[()\[\]]", literal):
            piece = " ".join(piece.split()).strip(" .,:;")
            if len(piece.split()) >= 3:
                yield piece


def english_strings(language: str, held: Matcher) -> set[str]:
    """English interface and clinical words that have a different translation in `language`."""
    with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    pairs = [(m.id, m.string) for m in catalog if m.id and isinstance(m.id, str)]
    knowledge, _ = held.localised(language)
    english = held.knowledge
    for group in ("difficulties", "modalities", "settings", "formats"):
        for term in getattr(english.vocabulary, group).values():
            there = getattr(knowledge.vocabulary, group)[term.id]
            pairs += [(term.label, there.label), (term.description, there.description)]
    for rule in english.rules:
        pairs.append((rule.rationale, knowledge.rules_by_id[rule.id].rationale))
    pairs.append((english.crisis.message, knowledge.crisis.message))
    found = set()
    for msgid, msgstr in pairs:
        translated = set(_fragments(str(msgstr)))
        found.update(f for f in _fragments(msgid) if f not in translated)
    return found


def english_left(html: str, language: str, held: Matcher) -> list[str]:
    """The English strings still on a page shown in `language`."""
    text = " ".join(read(html, language).words)
    return sorted(s for s in english_strings(language, held) if s in text)


@pytest.fixture(scope="module")
def staff_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The bundled app with a staff account, for the console pages."""
    from matcher.web import create_app

    state = tmp_path_factory.mktemp("languages-state")
    app = create_app(
        {
            "TESTING": True,
            "RATE_LIMIT": "",
            "LOGIN_RATE_LIMIT": "",
            "STATE_DIR": str(state),
            "FRONT_PAGE": "single",
        }
    )
    accounts: Accounts = app.extensions["accounts"]
    accounts.add(STAFF[0], STAFF[1], "admin", actor="test")
    return app


def pages(client: FlaskClient) -> Iterator[tuple[str, str]]:
    """Each page a person or a receptionist sees, as (what, html)."""
    form = client.get("/")
    yield "the intake form", form.get_data(as_text=True)
    token = form_token(form.get_data(as_text=True))
    answers = MultiDict(
        [
            ("difficulties", "ptsd"),
            ("difficulties", "depression"),
            ("format", "online"),
            ("max_fee", "90"),
            ("csrf_token", token),
        ]
    )
    yield "the results", client.post("/results", data=answers).get_data(as_text=True)
    urgent = MultiDict([("difficulties", "depression"), ("self_harm_thoughts", "yes")])
    urgent.add("csrf_token", token)
    yield "urgent results", client.post("/results", data=urgent).get_data(as_text=True)
    nobody = MultiDict([("difficulties", "grief"), ("languages", "sw"), ("max_fee", "10")])
    nobody.add("csrf_token", token)
    yield "no match", client.post("/results", data=nobody).get_data(as_text=True)
    errors = MultiDict([("format", "in_person"), ("age", "abc"), ("csrf_token", token)])
    yield "form errors", client.post("/results", data=errors).get_data(as_text=True)
    yield "the checklist", client.get("/checklist").get_data(as_text=True)
    tailored = "/checklist?modalities=emdr,cbt&format=online&setting=group"
    yield "a tailored checklist", client.get(tailored).get_data(as_text=True)


def staff_pages(client: FlaskClient) -> Iterator[tuple[str, str]]:
    """The console's pages, for a receptionist working in the language."""
    for path in ("/staff", "/staff/therapists", "/staff/referrals", "/staff/admin"):
        yield path, client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_page_is_in_the_language_with_no_english_left(
    staff_app: Flask, matcher: Matcher, language: str
) -> None:
    client = staff_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    staff = staff_logged_in(staff_app, *STAFF)
    staff.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    login = staff_app.test_client()
    login.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    shown = [
        *pages(client),
        ("the staff login", login.get("/staff/login").get_data(as_text=True)),
        *staff_pages(staff),
    ]
    for what, html in shown:
        page = read(html, language)
        assert (page.html_lang, page.html_dir) == (language, DIRECTION.get(language, "ltr")), what
        assert english_left(html, language, matcher) == [], what


def test_the_check_itself_finds_english_on_an_english_page(
    client: FlaskClient, matcher: Matcher
) -> None:
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Find a therapist who fits you" in english_left(html, "es", matcher)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("es", "es"), ("ar-EG,ar;q=0.9,en;q=0.5", "ar"), ("sw, pt;q=0.8", "en"), ("de-AT", "de")],
)
def test_the_browsers_language_picks_the_page_language(
    client: FlaskClient, accept: str, expected: str
) -> None:
    answer = client.get("/", headers={"Accept-Language": accept})
    assert answer.headers["Content-Language"] == expected
    assert f'<html lang="{expected}" dir="{DIRECTION.get(expected, "ltr")}">' in answer.get_data(
        as_text=True
    )


def test_the_clinics_default_language_serves_a_browser_that_asks_for_none_we_offer(
    tmp_path: Path,
) -> None:
    from matcher.web import create_app

    app = create_app(
        {"TESTING": True, "RATE_LIMIT": "", "STATE_DIR": str(tmp_path), "DEFAULT_LANGUAGE": "nl"}
    )
    answer = app.test_client().get("/checklist", headers={"Accept-Language": "sw"})
    assert answer.headers["Content-Language"] == "nl"


def test_the_switcher_names_each_language_in_its_own_script(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    names = re.findall(r'name="language" value="(\w+)" lang="\w+" dir="(\w+)"[^>]*>([^<]+)<', html)
    assert sorted((code, direction, name) for code, direction, name in names) == [
        ("ar", "rtl", "العربية"),
        ("de", "ltr", "Deutsch"),
        ("en", "ltr", "English"),
        ("es", "ltr", "Español"),
        ("fr", "ltr", "Français"),
        ("nl", "ltr", "Nederlands"),
    ]


def test_switching_language_keeps_the_answers_and_is_remembered(client: FlaskClient) -> None:
    form = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    answers = MultiDict(
        [
            ("difficulties", "grief"),
            ("languages", "es"),
            ("city", "Madrid"),
            ("phq9-1", "2"),
            ("csrf_token", form_token(form)),
            ("language", "es"),
        ]
    )
    switched = client.post("/", data=answers)
    html = switched.get_data(as_text=True)
    assert switched.headers["Content-Language"] == "es"
    assert 'id="difficulty-grief" name="difficulties" value="grief" checked' in html
    assert 'id="language-es" name="languages" value="es" checked' in html
    assert 'name="city" value="Madrid"' in html
    assert 'name="phq9-1" value="2" checked' in html
    # Remembered for the visit, whatever the browser asks for.
    again = client.get("/checklist", headers={"Accept-Language": "en"})
    assert again.headers["Content-Language"] == "es"


def test_switching_language_with_a_yes_to_self_harm_shows_the_crisis_help_first(
    client: FlaskClient,
) -> None:
    form = client.get("/").get_data(as_text=True)
    answers = {"self_harm_thoughts": "yes", "csrf_token": form_token(form), "language": "ar"}
    html = client.post("/", data=answers).get_data(as_text=True)
    main = html[html.index('<main id="main"') :]
    assert main.index('id="crisis"') < main.index('id="intake-title"')
    assert "أخبرتنا أنه راودتك أفكار بإيذاء نفسك" in main


def test_a_language_picked_on_a_page_without_answers_returns_to_that_page(
    client: FlaskClient,
) -> None:
    answer = client.post("/language", data={"language": "fr", "next": "/checklist?format=online"})
    assert (answer.status_code, answer.headers["Location"]) == (303, "/checklist?format=online")
    elsewhere = client.post("/language", data={"language": "fr", "next": "//evil.example/"})
    assert elsewhere.headers["Location"] == "/"
    assert client.get("/checklist").headers["Content-Language"] == "fr"


def test_the_api_answers_in_the_language_asked_and_never_from_the_page_session(
    client: FlaskClient,
) -> None:
    client.post("/language", data={"language": "fr", "next": "/"})
    english = client.post("/api/v1/match", json={"difficulties": ["grief"]})
    assert english.headers["Content-Language"] == "en"
    dutch = client.post(
        "/api/v1/match", json={"difficulties": ["grief"]}, headers={"Accept-Language": "nl"}
    )
    assert dutch.headers["Content-Language"] == "nl"
    assert [m["name"] for m in dutch.get_json()["modalities"]] == [
        "Interpersoonlijke therapie (IPT)",
        "Humanistische therapie",
    ]
    assert [m["id"] for m in dutch.get_json()["modalities"]] == ["ipt", "humanistic"]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            "LANGUAGES",
            "en,xx",
            "MATCHER_LANGUAGES: xx not shipped (shipped: en, ar, de, es, fr, nl)",
        ),
        (
            "DEFAULT_LANGUAGE",
            "de",
            "MATCHER_DEFAULT_LANGUAGE: 'de' is not one of the languages offered (en, es)",
        ),
    ],
)
def test_a_language_setting_that_cannot_work_stops_start_up_naming_it(
    tmp_path: Path, setting: str, value: str, message: str
) -> None:
    from matcher.errors import ConfigError
    from matcher.web import create_app

    config = {"TESTING": True, "STATE_DIR": str(tmp_path), "LANGUAGES": "en,es", setting: value}
    with pytest.raises(ConfigError) as raised:
        create_app(config)
    assert str(raised.value) == message


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_the_crisis_block_comes_first_in_every_language(
    client: FlaskClient, matcher: Matcher, language: str
) -> None:
    headers = {"Accept-Language": language}
    token = form_token(client.get("/", headers=headers).get_data(as_text=True))
    answers = {"difficulties": "depression", "self_harm_thoughts": "yes", "csrf_token": token}
    html = client.post("/results", data=answers, headers=headers).get_data(as_text=True)
    main = html[html.index('<main id="main"') :]
    assert main.index('id="crisis"') < main.index('id="results-title"')
    message = matcher.in_language(language).safety(["self_harm_thoughts"])["message"]
    assert message.split(".")[0] in main
    api = client.post(
        "/api/v1/match",
        json={"difficulties": ["grief"], "risk": {"self_harm_thoughts": "yes"}},
        headers=headers,
    ).get_json()
    assert api["safety"]["urgent"] is True and api["alerts"][0]["rule"] == "safety.self_harm"
    assert api["safety"]["message"] == message
