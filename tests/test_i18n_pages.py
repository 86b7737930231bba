"""No English sentence survives on a page shown in another language.

The catalog-based check (tests/test_pages_in_languages.py) sees only the strings a catalog
already holds, so a template string never wrapped, or a sentence the code builds from English
words, slips past it. This one needs no catalog: it goes through the person's whole journey
in English (the form in steps, check your answers, results with licence, distance, freshness
and fee sentences, a profile, asking the clinic, the confirmation), collects every text a
person reads (text nodes and the labels of controls), then goes through the same journey in
each other language and requires that none of those English texts is on its pages, nor any
three English words in a row of them inside a sentence of the language ("Confirmó 7 days
ago"), except the allowed ones below, each with its reason.

The staff pages get the same check: a receptionist's whole shift, signed in (the console with
matches, a why-not, errors and saved calls, the queue with filters, a referral with notes, a
clash, matching again, erasing, the roster and admin), in English and then in each language.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from matcher import PROJECT_ROOT, i18n
from matcher.i18n import SHIPPED_LANGUAGES, TRANSLATIONS_DIR
from matcher.languages import LANGUAGE_CODES
from matcher.matching import Matcher
from matcher.web import create_app
from tests.files import read_yaml
from tests.forms import form_token
from tests.test_pages_in_languages import read

OTHER_LANGUAGES = [code for code in SHIPPED_LANGUAGES if code != "en"]
THERAPIST = "t-001"  # Madrid, a sliding scale with low-fee places, a weekly cap, an opening
# What the person types: their own words, the same in every language.
CONTACT = {"contact_name": "Noa Prueba", "contact_email": "noa@example.org"}


@pytest.fixture(scope="module")
def visited(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The bundled app, with a database for the ask step's referral."""
    state = tmp_path_factory.mktemp("i18n-pages")
    return create_app({"TESTING": True, "RATE_LIMIT": "", "STATE_DIR": str(state)})


def _fields(html: str, start: str) -> dict[str, list[str]]:
    form = html[html.index(start) :]
    form = form[: form.index("</form>")]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form):
        fields.setdefault(name, []).append(value)
    return fields


def journey(app: Flask, language: str) -> Iterator[tuple[str, str]]:
    """The pages of one person's visit in `language`, as (which page, html)."""
    client: FlaskClient = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language

    def step(name: str, data: dict[str, Any]) -> str:
        token = form_token(client.get(f"/find/{name}").get_data(as_text=True))
        answer = client.post(f"/find/{name}", data={**data, "csrf_token": token})
        assert answer.status_code == 303, (name, answer.get_data(as_text=True))
        assert "error" not in answer.headers["Location"], name
        return str(answer.headers["Location"])

    yield "the first step", client.get("/find/where").get_data(as_text=True)
    step("where", {"location": "ES", "format": "in_person", "city": "Madrid"})
    yield "the second step", client.get("/find/help").get_data(as_text=True)
    step("help", {"difficulties": ["ptsd"], "self_harm_thoughts": "no"})
    yield "the questionnaires", client.get("/find/questionnaires").get_data(as_text=True)
    step("questionnaires", {f"phq9-{item}": "2" for item in range(1, 9)} | {"phq9-9": "0"})
    yield "your therapist", client.get("/find/preferences").get_data(as_text=True)
    step("preferences", {"age": "34"})
    yield "the last step", client.get("/find/payment").get_data(as_text=True)
    assert step("payment", {"payment_method": "self_pay", "max_fee": "70"}) == "/find/check"
    yield "check your answers", client.get("/find/check").get_data(as_text=True)
    results = client.get("/find/results").get_data(as_text=True)
    yield "the results", results
    yield "a profile", client.get(f"/therapists/{THERAPIST}").get_data(as_text=True)
    card = results[results.index(f'id="therapist-{THERAPIST}"') :]
    ask = client.post("/ask", data=_fields(card, '<form method="post" action="/ask"'))
    assert ask.status_code == 200
    yield "ask the clinic", ask.get_data(as_text=True)
    details = _fields(ask.get_data(as_text=True), 'action="/ask/send"')
    details.pop("preferred", None)
    sent = client.post(
        "/ask/send", data={**details, **CONTACT, "preferred": "email", "consent": "yes"}
    )
    assert sent.headers["Location"] == "/ask/sent", sent.get_data(as_text=True)
    yield "request sent", client.get("/ask/sent").get_data(as_text=True)
    yield "no such page", client.get("/therapists/t-999").get_data(as_text=True)
    # The form on one page, for clinics that embed it: what nobody fits, crisis help, errors.
    form = client.get("/form").get_data(as_text=True)
    yield "the form on one page", form
    token = form_token(form)

    def results(data: dict[str, Any]) -> str:
        return client.post("/results", data={**data, "csrf_token": token}).get_data(as_text=True)

    nobody = {"difficulties": "grief", "languages": "sw", "max_fee": "10", "format": "in_person"}
    yield "nobody fits", results({**nobody, "city": "Madrid"})
    yield "crisis help first", results({"difficulties": "depression", "self_harm_thoughts": "yes"})
    yield "answers to correct", results({"format": "in_person", "age": "abc", "max_fee": "x"})
    checklist = "/checklist?modalities=emdr,cbt&format=online&setting=group&languages=es"
    yield "a checklist", client.get(checklist).get_data(as_text=True)


def _has_words(text: str) -> bool:
    return any(character.isalpha() for character in text)


def _bare(text: str) -> str:
    """A text without the punctuation, brackets and list marks around it."""
    return text.strip(string.punctuation + string.whitespace + "–·…")


def allowed(language: str, held: Matcher) -> set[str]:
    """English texts that may stay on a page in `language`, each for a reason given here."""
    english = held.knowledge
    ok: set[str] = set()
    # The roster's own words are shown as the therapist wrote them, in one language for all:
    # names, pronouns, credentials, bios, groups' names and times, the cities they work in,
    # licences.
    for therapist in held.roster.therapists:
        profile = therapist.profile
        ok.update(str(profile[key]) for key in ("name", "pronouns", "credentials", "bio"))
        ok.update(str(profile[key]) for key in ("city",) if profile.get(key))
        for group in profile.get("groups") or []:
            ok.update((str(group["name"]), str(group["schedule"])))
        # A licence is named as its register writes it: Psicóloga General Sanitaria.
        for licence in therapist.record.licences:
            ok.update((licence.title, licence.register))
    # Publications keep their titles: the sources a reason cites.
    for source in english.sources.values():
        ok.update(str(text) for text in (source.cite, source.title) if text)
    # Questionnaires are named the same everywhere (PHQ-9, GAD-7).
    ok.update(i.name for i in english.screening.instruments.values())
    # A region's name has no translation we could take it from (ISO 3166-2 names: New Jersey).
    ok.update(name for code, name in held.places_served() if "-" in code)
    # Words the language writes as English does, by its own translators' choice: a catalog
    # entry or a clinical text translated to the same words (Details, E-mail, EMDR, Online).
    with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    ok.update(m.id for m in catalog if isinstance(m.id, str) and m.id == m.string)
    there = held.localised(language)[0]
    for group in ("difficulties", "modalities", "settings", "formats", "times", "genders"):
        for term in getattr(english.vocabulary, group).values():
            translated = getattr(there.vocabulary, group)[term.id]
            ok.update(
                str(getattr(term, name))
                for name in ("label", "phrase")
                if getattr(term, name) and getattr(term, name) == getattr(translated, name)
            )
    # Countries and languages the language names as English does (France in French, Tamil
    # in Dutch), by CLDR through Babel.
    here = i18n.locale(language)
    for code, name in held.places_served():
        if here.territories.get(code) == name:
            ok.add(name)
    # The interpreter question lists every ISO 639-1 language, capitalised as a list item.
    codes = {c for t in held.roster.therapists for c in t.profile["languages"]} | set(
        LANGUAGE_CODES
    )
    for code in codes:
        name = i18n.language_name(code, language)
        english_name = held.knowledge.vocabulary.language_name(code)
        if name and name[:1].upper() + name[1:] == english_name[:1].upper() + english_name[1:]:
            ok.update((name, name[:1].upper() + name[1:]))
    # Insurers are named as they name themselves (Techniker Krankenkasse, Bupa) in every
    # language; a scheme's label only where its translation keeps it (Medicare).
    payment = english.vocabulary.payment
    translated = there.vocabulary.payment
    if payment is not None and translated is not None:
        for scheme in payment.schemes.values():
            ok.update(scheme.payers.values())
            if translated.schemes[scheme.id].label == scheme.label:
                ok.add(scheme.label)
        # A currency CLDR names as English does (Euro in German and Dutch), as the budget's
        # currency list writes it.
        for code in {*payment.currencies.values(), payment.default_currency}:
            name = i18n.currency_name(code, language)
            if name == i18n.currency_name(code, "en"):
                ok.add(f"{code}: {name}")
    # Vocabulary labels a translation keeps as they are (LGBTQ+).
    for group in ("access", "affirming", "identities"):
        for term in getattr(english.vocabulary, group).values():
            if getattr(there.vocabulary, group)[term.id].label == term.label:
                ok.add(term.label)
    ok.update(CONTACT.values())
    ok.add("matcher")  # the service's name
    return {_bare(text) for text in ok}


WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
RUN = 3  # words in a row: "7 days ago", "works online only", "within 25 km"


def _without(text: str, ok: set[str]) -> str:
    # The allowed texts cut out, so that a name inside a sentence is never a run of English;
    # the longest first, of those in the text (sorting all of them for each text cost seconds).
    present = [allowed_text for allowed_text in ok if allowed_text and allowed_text in text]
    for allowed_text in sorted(present, key=len, reverse=True):
        if allowed_text in text:
            text = text.replace(allowed_text, " | ")
    return text


def runs(text: str, ok: set[str]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Every RUN words in a row of a text (allowed texts cut out), with two words at least:
    each as compared (casefolded), to the words as written."""
    found = {}
    for piece in _without(text, ok).split("|"):
        words = WORD.findall(piece)
        for start in range(len(words) - RUN + 1):
            run = tuple(words[start : start + RUN])
            if sum(any(c.isalpha() for c in w) for w in run) >= 2:
                found[tuple(w.casefold() for w in run)] = run
    return found


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


@functools.cache
def own_words(language: str) -> set[str]:
    """The words the language's own translations use (its catalog and clinical texts).

    Dutch and German share words with English ("je budget is in EUR"): a run of words that
    are all the language's own is the language, not English left behind.
    """
    with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    texts = [m.string for m in catalog if isinstance(m.string, str)]
    texts += [s for m in catalog if isinstance(m.string, tuple) for s in m.string]
    texts += _strings(read_yaml(PROJECT_ROOT / "rules" / "translations" / f"{language}.yaml"))
    return {word.casefold() for text in texts for word in WORD.findall(text)}


@functools.cache
def _runs_of(english: frozenset[str], ok: frozenset[str]) -> set[tuple[str, ...]]:
    return {run for text in english for run in runs(text, set(ok))}


def english_on(html: str, language: str, english: set[str], ok: set[str]) -> list[str]:
    """The English on a page shown in `language`: whole texts of `english`, or runs of their
    words inside a sentence of the language (an English fragment the code put there)."""
    shown = read(html, language).words
    whole = {
        text
        for text in shown
        if text in english
        and _has_words(text)
        # A page's title is its heading, then the service's name: "Lucía ... · matcher".
        and not all(_bare(part) in ok for part in text.split(" · "))
        # A reference number (3F2A-9B1C) is the same in every language.
        and not re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", text)
    }
    english_runs, theirs = _runs_of(frozenset(english), frozenset(ok)), own_words(language)
    inside = {
        f"{' '.join(run)!r} in {text!r}"
        for text in shown
        if text not in whole
        for compared, run in runs(text, ok).items()
        if compared in english_runs
        # Codes (EUR, CBT) are no language's; a run of the language's own words is its own.
        and not all(word.casefold() in theirs or word.upper() == word for word in run)
    }
    return sorted(whole | inside)


@pytest.fixture(scope="module")
def english_pages(visited: Flask) -> dict[str, str]:
    """The journey in English, page by page."""
    return dict(journey(visited, "en"))


def test_the_english_journey_has_the_sentences_the_check_must_see(
    english_pages: dict[str, str],
) -> None:
    # The check is only as good as what the English pages show: sentences built by the code.
    results = " ".join(read(english_pages["the results"], "en").words)
    for built in (
        "Licensed in Spain (Psicóloga General Sanitaria, Colegio Oficial de la Psicología de "
        "Madrid; checked 4 November 2026)",
        "that they are taking new clients; next opening 9 December 2026; takes up to 2 new "
        "clients a week",
        "Sees people in person within 25 km of Madrid",
        "Within your budget of €70: through the sliding scale down to €55 (standard fee €80, "
        "2 low-fee places open)",
        "About 2 km from central Madrid (city centre, not your address)",
    ):
        assert built in results, built
    assert "Confirmed 7 days ago that they are taking new clients" in results  # tests/clock.py
    words = {page: read(html, "en").words for page, html in english_pages.items()}
    assert "Check your answers" in words["check your answers"]
    assert "Ask the clinic about Lucía Fernández Ortega" in words["ask the clinic"]
    assert "Request sent" in words["request sent"]
    assert "How they work" in words["a profile"]


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_english_sentence_survives_on_any_page_of_the_journey(
    visited: Flask, matcher: Matcher, english_pages: dict[str, str], language: str
) -> None:
    english = {text for html in english_pages.values() for text in read(html, "en").words}
    ok = allowed(language, matcher)
    pages = dict(journey(visited, language))
    assert list(pages) == list(english_pages)
    left = {page: english_on(html, language, english, ok) for page, html in pages.items()}
    assert {page: texts for page, texts in left.items() if texts} == {}


def test_the_check_finds_an_english_sentence_left_on_a_page(
    english_pages: dict[str, str], matcher: Matcher
) -> None:
    english = {text for html in english_pages.values() for text in read(html, "en").words}
    spanish_page = english_pages["request sent"].replace('lang="en"', 'lang="es"')
    found = english_on(spanish_page, "es", english, allowed("es", matcher))
    assert "What happens next" in found
    assert "Lucía Fernández Ortega" not in found  # a name is never counted as English
    # An English piece inside a sentence of the language: what the code built from fragments.
    mixed = '<html lang="es"><p>Confirmó 7 days ago que acepta nuevos pacientes</p></html>'
    assert english_on(mixed, "es", english, allowed("es", matcher)) == [
        "'7 days ago' in 'Confirmó 7 days ago que acepta nuevos pacientes'"
    ]
    spanish = '<html lang="es"><p>Confirmó hace 7 días que acepta nuevos pacientes</p></html>'
    assert english_on(spanish, "es", english, allowed("es", matcher)) == []


# --- the staff pages -------------------------------------------------------------------------

RECEPTIONIST, OTHER_DESK = "receptionist", "desk"
STAFF_PASSWORD = "a-long-receptionist-password"
CALL = {
    "difficulties": ["ptsd"],
    "languages": ["es"],
    "format": "in_person",
    "city": "Madrid",
    "max_fee": "90",
    "age": "34",
}
# What the receptionist types: their own words (or the caller's), the same in every language.
CALLER = {
    "contact_name": "Noa Prueba",
    "contact_email": "noa@example.org",
    "contact_phone": "020 7946 0001",
    "consent_words": "Yes, keep it and ring me back",
}
URGENT_CALLER = {"contact_name": "Eli Urgente", "contact_phone": "020 7946 0002"}
NOTE = "Rang, no answer"
CLOSE_REASON = "Found help elsewhere"


def clinic_app(state: Any) -> Flask:
    """A fresh clinic for one visit: a receptionist (admin) and a desk account, a webhook
    that has not been reached yet (so the admin page lists what waits to be sent)."""
    app = create_app(
        {
            "TESTING": True,
            "RATE_LIMIT": "",
            "LOGIN_RATE_LIMIT": "",
            "STATE_DIR": str(state),
            "CLINIC_TIMEZONE": "Europe/Madrid",
            "PUBLIC_URL": "https://clinic.example.org",
            "WEBHOOK_URL": "https://hooks.example.org/urgent",
            "WEBHOOK_SECRET": "w" * 32,
            "NOTIFY_IN_SERVICE": False,
        }
    )
    app.extensions["accounts"].add(RECEPTIONIST, STAFF_PASSWORD, "admin", actor="test")
    app.extensions["accounts"].add(OTHER_DESK, STAFF_PASSWORD, "staff", actor="test")
    return app


def _signed_in(app: Flask, language: str, name: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    token = form_token(client.get("/staff/login").get_data(as_text=True))
    answer = client.post(
        "/staff/login",
        data={"username": name, "password": STAFF_PASSWORD, "csrf_token": token, "next": "/staff"},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client


def staff_journey(app: Flask, language: str) -> Iterator[tuple[str, str]]:
    """The pages of a receptionist's shift in `language`, as (which page, html)."""
    client: FlaskClient = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    login = client.get("/staff/login").get_data(as_text=True)
    yield "the login page", login
    wrong = {"username": RECEPTIONIST, "password": "not it", "csrf_token": form_token(login)}
    failed = client.post("/staff/login", data={**wrong, "next": "/staff"})
    assert failed.status_code == 401
    yield "a failed login", failed.get_data(as_text=True)
    client = _signed_in(app, language, RECEPTIONIST)
    console = client.get("/staff").get_data(as_text=True)
    yield "the console", console
    token = form_token(console)

    def act(data: dict[str, Any], path: str = "/staff") -> str:
        answer = client.post(path, data={**data, "csrf_token": token}, follow_redirects=True)
        assert answer.status_code in (200, 409, 422), (path, answer.status_code)
        return answer.get_data(as_text=True)

    yield "matches", act({**CALL, "action": "match"})
    yield "why not", act({**CALL, "action": "why", "therapist": "t-002"})
    yield "answers to correct", act({"format": "in_person", "age": "abc", "max_fee": "x"})
    yield "consent not given", act({**CALL, "action": "save_referral", "contact_name": "Noa"})
    saved = act({**CALL, **CALLER, "action": "save_referral", "consent": "yes"})
    yield "the call saved", saved
    referral = re.search(r'id="referral-link" href="/staff/referrals/([0-9a-f]{32})"', saved)
    assert referral, saved
    yield "a new call", act({}, "/staff/new-call")
    urgent = {"difficulties": ["depression"], "self_harm_thoughts": "yes"}
    yield "an urgent caller", act({**urgent, "action": "match"})
    urgent_saved = act({**urgent, **URGENT_CALLER, "action": "save_urgent"})
    yield "the urgent call saved", urgent_saved
    urgent_id = re.search(
        r'id="urgent-referral-link" href="/staff/referrals/([0-9a-f]{32})"', urgent_saved
    )
    assert urgent_id, urgent_saved
    act({}, "/staff/new-call")
    yield "the queue", client.get("/staff/referrals").get_data(as_text=True)
    filtered = "/staff/referrals?status=new&review=no&therapist=t-001&q=Noa"
    yield "the queue with filters", client.get(filtered).get_data(as_text=True)
    yield "a search that finds nobody", client.get("/staff/referrals?q=zz").get_data(as_text=True)
    yield (
        "a queue address that makes no sense",
        client.get("/staff/referrals?review=maybe").get_data(as_text=True),
    )
    page = f"/staff/referrals/{referral.group(1)}"
    act({"action": "note", "version": "1", "note": "Rang, no asnwer"}, page)
    noted = re.search(r'name="note_id" value="(\d+)"', client.get(page).get_data(as_text=True))
    assert noted, "the author is offered to correct the note"
    act({"action": "correct_note", "version": "1", "note_id": noted.group(1), "note": NOTE}, page)
    act({"action": "assign", "version": "1"}, page)
    yield "a referral with notes", client.get(page).get_data(as_text=True)
    yield "a refused change", act({"action": "status", "version": "2", "status": "closed"}, page)
    act({"action": "status", "version": "2", "status": "contacted"}, page)
    clash = {"action": "status", "version": "2", "status": "closed", "reason": CLOSE_REASON}
    yield "a clash", act(clash, page)
    yield "matched again", act({"action": "rematch", "version": "3"}, page)
    yield (
        "an urgent referral",
        client.get(f"/staff/referrals/{urgent_id.group(1)}").get_data(as_text=True),
    )
    yield "erase, asked first", client.get(f"{page}/erase").get_data(as_text=True)
    yield "erased", act({"confirm": "erase"}, f"{page}/erase")
    yield "no such referral", client.get(f"/staff/referrals/{'0' * 32}").get_data(as_text=True)
    yield "the roster", client.get("/staff/therapists").get_data(as_text=True)
    roster = "/staff/therapists?city=Madrid&language=es&accepting_new_clients=true&q=luc"
    yield "the roster filtered", client.get(roster).get_data(as_text=True)
    yield "a roster filter refused", client.get("/staff/therapists?format=x").get_data(as_text=True)
    yield "admin", client.get("/staff/admin").get_data(as_text=True)
    expired = client.post("/staff", data={"csrf_token": "stale", "action": "match"})
    assert expired.status_code == 400
    yield "an expired form", expired.get_data(as_text=True)
    desk = _signed_in(app, language, OTHER_DESK)
    yield "admins only", desk.get("/staff/admin").get_data(as_text=True)
    logout = client.post("/staff/logout", data={"csrf_token": token}, follow_redirects=True)
    yield "logged out", logout.get_data(as_text=True)


def staff_allowed(language: str, held: Matcher) -> set[str]:
    """What a staff page may show as it is in every language: beside the person pages' own
    allowances, the names of the accounts and what the receptionist typed."""
    ok = allowed(language, held)
    # The accounts' names (and "test", who made them), and what the receptionist typed.
    ok.update({RECEPTIONIST, OTHER_DESK, "test", NOTE, CLOSE_REASON, "Noa"})
    ok.update(CALLER.values())
    ok.update(URGENT_CALLER.values())
    # A therapist is picked by name and id: ids are the same in every language.
    for therapist in held.roster.therapists:
        ok.update((therapist.id, f"{therapist.profile['name']} ({therapist.id})"))
    # The score chart's labels a translation keeps as they are (Distance in French).
    there = held.localised(language)[0].matching.soft_preferences
    for preference, translated in zip(held.knowledge.matching.soft_preferences, there, strict=True):
        if preference.label == translated.label:
            ok.add(preference.label)
    # The roster's language filter: each language in its own script, and in the page's
    # language when that differs (Urdu, as Dutch and German name it too).
    for code in {c for t in held.roster.therapists for c in t.profile["languages"]}:
        name = i18n.language_name(code, language) or ""
        capitalised = name[:1].upper() + name[1:]
        if _bare(capitalised) in {_bare(text) for text in ok}:
            ok.update((f"{i18n.own_name(code)} ({name})", f"{i18n.own_name(code)} ({capitalised})"))
    # The shortcuts' keys are the same letters on every keyboard and in every language.
    ok.update("MWSNQ")
    # A refused filter names the ids it takes, as the API does (online, in_person).
    ok.add(", ".join(held.knowledge.vocabulary.formats))
    ok.add(", ".join(f for f in held.knowledge.vocabulary.formats if f != "any"))
    return {_bare(text) for text in ok}


def written_alike(language: str) -> list[re.Pattern[str]]:
    """Texts the language writes as English does by its translators' choice, values filled in
    (a catalog entry whose translation is its English: '%(minutes)s min'), and clock times
    (18:31 CET), which Babel writes alike in several languages."""
    with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    alike = [
        re.compile(re.sub(r"%\\\(\w+\\\)[sd]", ".+", re.escape(m.id)))
        for m in catalog
        if isinstance(m.id, str) and m.id == m.string and "%(" in m.id
    ]
    return [*alike, re.compile(r"[\d:.\s]+(?:[AP]M )?[A-Z]{3,4}")]


def staff_pages(tmp_path_factory: pytest.TempPathFactory, language: str) -> dict[str, str]:
    """A receptionist's shift in `language`, in a clinic of its own."""
    app = clinic_app(tmp_path_factory.mktemp(f"staff-{language}"))
    return dict(staff_journey(app, language))


@pytest.fixture(scope="module")
def english_staff_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The receptionist's shift in English, page by page."""
    return staff_pages(tmp_path_factory, "en")


def test_the_english_shift_has_the_sentences_the_check_must_see(
    english_staff_pages: dict[str, str],
) -> None:
    words = {page: " ".join(read(html, "en").words) for page, html in english_staff_pages.items()}
    assert "Caller's age" in words["the console"]
    assert "Requirements" in words["why not"]
    assert "Give the caller the reference." in words["the call saved"]
    assert NOTE in words["a referral with notes"]
    assert "(corrected " in words["a referral with notes"]
    assert "It is now contacted, changed by receptionist" in words["a clash"]
    assert "Urgent referral notifications" in words["admin"]
    assert "1 waiting to be sent" in words["admin"]


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_english_sentence_survives_on_any_staff_page(
    tmp_path_factory: pytest.TempPathFactory,
    matcher: Matcher,
    english_staff_pages: dict[str, str],
    language: str,
) -> None:
    english = {text for html in english_staff_pages.values() for text in read(html, "en").words}
    ok = staff_allowed(language, matcher)
    pages = staff_pages(tmp_path_factory, language)
    assert list(pages) == list(english_staff_pages)
    alike = written_alike(language)
    left = {
        page: [
            text
            for text in english_on(html, language, english, ok)
            if not any(pattern.fullmatch(text) for pattern in alike)
        ]
        for page, html in pages.items()
    }
    assert {page: texts for page, texts in left.items() if texts} == {}


def test_staff_pages_write_times_in_the_clinics_zone_the_languages_way(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    app = clinic_app(tmp_path_factory.mktemp("staff-times"))
    client = _signed_in(app, "es", RECEPTIONIST)
    token = form_token(client.get("/staff").get_data(as_text=True))
    data = {**CALL, **CALLER, "action": "save_referral", "consent": "yes", "csrf_token": token}
    client.post("/staff", data=data, follow_redirects=True)
    [row] = app.extensions["referrals"].queue()
    created = app.extensions["referrals"].get(row["id"])["created_at"]
    madrid = ZoneInfo("Europe/Madrid")
    html = client.get(f"/staff/referrals/{row['id']}").get_data(as_text=True)
    page = " ".join(read(html, "es").words)
    # Babel's Spanish medium date, the time, and the zone's abbreviation: 1 dic 2026, 18:31 CET.
    assert i18n.clock_time(created, "es", madrid) in page
    assert re.search(r"\d{1,2} [a-z]{3} \d{4}, \d{2}:\d{2} CES?T", page)
    admin = " ".join(read(client.get("/staff/admin").get_data(as_text=True), "es").words)
    assert "UTC" not in admin
    login = next(e for e in app.extensions["accounts"].audit_log(100) if e["action"] == "login")
    assert i18n.clock_time(login["at"], "es", madrid) in admin
