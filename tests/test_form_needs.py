"""The person's forms ask what the API takes: access needs, sign language and interpreters,
affirming care, a therapist who shares who they are (a wish, with its consent wording), how they
pay, and where they will be first; the language question starts from their browser's and the
clinic's language (issues 15 and 16.3).

Every test fills in the forms as a browser does: it reads the page, keeps what the page sends on
its own (hidden fields, ticked and selected defaults), changes only what the person changes, and
refuses an answer the page does not offer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from matcher.web import create_app
from matcher.web.pages import intake_from_form
from tests.forms import staff_logged_in

PASSWORD = "form needs password 16"


@pytest.fixture()
def clinic(tmp_path: Path) -> Iterator[Flask]:
    """A London clinic (MATCHER_LOCALE=GB) with a receptionist."""
    app = create_app(
        {
            "TESTING": True,
            "LOCALE": "GB",
            "RATE_LIMIT": "",
            "LOGIN_RATE_LIMIT": "",
            "STATE_DIR": str(tmp_path),
            "SECRET_KEY": "form-needs-" + "k" * 32,
            "CLINIC_TIMEZONE": "Europe/London",
        }
    )
    app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
    yield app


class Form(HTMLParser):
    """One form of a page as a browser sends it, and what each of its controls offers."""

    def __init__(self, html: str, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.select: str | None = None
        self.sent: list[tuple[str, str]] = []  # what the browser sends untouched
        self.offered: dict[str, set[str]] = {}  # name -> values a person can choose
        self.kinds: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = found.get("action") == self.action
        if not self.inside:
            return
        name = found.get("name", "")
        if tag == "input" and name:
            kind = found.get("type", "text")
            self.kinds[name] = kind
            if kind in ("checkbox", "radio"):
                self.offered.setdefault(name, set()).add(found.get("value", ""))
                if "checked" in found:
                    self.sent.append((name, found.get("value", "")))
            else:
                self.sent.append((name, found.get("value", "")))
        elif tag == "button" and name:
            self.kinds[name] = "radio"  # a named button sends its value when pressed
            self.offered.setdefault(name, set()).add(found.get("value", ""))
        elif tag == "select":
            self.select = name
            self.kinds[name] = "select"
            self.offered.setdefault(name, set())
        elif tag == "option" and self.select:
            self.offered[self.select].add(found.get("value", ""))
            if "selected" in found:
                self.sent.append((self.select, found.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None

    def filled(self, answers: Mapping[str, Any], offered_only: bool = True) -> MultiDict[str, str]:
        """The form with the person's answers: a list ticks boxes, a string types or picks."""
        data = MultiDict(self.sent)
        for name, answer in answers.items():
            values = [answer] if isinstance(answer, str) else list(answer)
            assert name in self.kinds, f"the form at {self.action} has no field {name!r}"
            if offered_only and self.kinds[name] in ("checkbox", "radio", "select"):
                missing = set(values) - self.offered[name]
                assert not missing, f"{name!r} does not offer {missing}"
            data.setlist(name, values)
        return data


def fill(client: FlaskClient, page: str, action: str, answers: Mapping[str, Any], **kw: Any) -> Any:
    """Open `page`, fill in its form that posts to `action`, send it (the page's own token)."""
    html = client.get(page).get_data(as_text=True)
    return client.post(action, data=Form(html, action).filled(answers, **kw))


def text(html: str) -> str:
    """The page's words, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip().replace("&#39;", "'")


def cards(html: str) -> list[str]:
    """The therapists listed, in order."""
    return re.findall(r'<article class="(?:card|read-aloud)" id="therapist-(t-\d+)"', html)


def error_fields(html: str) -> list[str]:
    """The fields the error summary links to, in order."""
    summary = html[
        html.index('id="error-summary"') : html.index("</div>", html.index("error-summary"))
    ]
    return re.findall(r'<a href="#field-([a-z_]+)">', summary)


# A person in London who signs BSL, needs a hearing loop, wants neurodiversity-affirming care and
# has Bupa: only one therapist fits all of it, and the explanation says each part.
LONDON_NEEDS = {
    "location": "GB",
    "difficulties": ["depression"],
    "self_harm_thoughts": "no",
    "format": "in_person",
    "city": "London",
    "access": ["hearing_loop"],
    "interpreter": "bfi",
    "affirming": ["neurodivergent"],
    "payment_method": "insurance",
    "payment_plan": "gb_private:bupa",
}
LONDON_SENTENCES = (
    "Signs British Sign Language themselves: no interpreter needed",
    "A hearing loop at their London office, about 4 km from central London (city centre, not your address)",
    "Offers neurodiversity-affirming care, as you asked",
    "Takes Bupa (UK private medical insurance): recognised",
)
# Someone in New York, online, paying $130 themselves, who would like a Black therapist: a wish
# that orders the list, never one that removes anyone.
NEW_YORK_WISH = {
    "location": "US-NY",
    "difficulties": ["depression"],
    "format": "online",
    "identity": ["ethnicity:black"],
    "payment_method": "self_pay",
    "max_fee": "130",
    "payment_currency": "USD",
}


def test_the_one_page_form_takes_access_sign_language_affirming_care_and_an_insurer(
    clinic: Flask,
) -> None:
    client = clinic.test_client()
    response = fill(client, "/form", "/results", {**LONDON_NEEDS, "languages": []})
    assert response.status_code == 200, error_fields(response.get_data(as_text=True))
    html = response.get_data(as_text=True)
    assert cards(html) == ["t-027"]
    for sentence in LONDON_SENTENCES:
        assert sentence in text(html), sentence
    # The next step (asking the clinic about them) carries every answer, the new ones too.
    held = clinic.extensions["matcher"]
    asked = intake_from_form(Form(html, "/ask").filled({}), held)
    assert asked["preferences"] == {
        "access": ["hearing_loop"],
        "affirming": ["neurodivergent"],
        "format": "in_person",
        "city": "London",
        "interpreter": "bfi",
        "payment": {"method": "insurance", "scheme": "gb_private", "payer": "bupa"},
    }


def test_the_form_asks_where_first_then_each_new_question_with_its_hint(clinic: Flask) -> None:
    html = clinic.test_client().get("/form").get_data(as_text=True)
    order = [html.index(f'id="field-{name}"') for name in ("location", "difficulties", "access")]
    assert order == sorted(order)
    assert html.index('id="field-languages"') < html.index('id="field-payment_method"')
    # Each hint is read after its question (aria-describedby), not as part of every label.
    for name, control in (
        ("access", '<fieldset id="field-access" class="field"'),
        ("affirming", '<fieldset id="field-affirming" class="field"'),
        ("identity", '<fieldset id="field-identity" class="field"'),
        ("interpreter", '<select id="field-interpreter" name="interpreter"'),
        ("payment_plan", '<select id="field-payment_plan" name="payment_plan"'),
    ):
        assert f'{control} aria-describedby="{name}-hint">' in html, name
    words = text(html)
    assert "Would you like a therapist who shares part of who you are?" in words
    assert (
        "If you tick any, you agree that we use it for this search only, to put first "
        "therapists who chose to tell us the same about themselves. It never removes a "
        "therapist from your list"
    ) in words
    # The insurers are the roster's (rules/payment.yaml), the clinic's country first.
    plans = re.findall(
        r'<option value="([a-z_]+(?::[a-z_]+)?)"', html[html.index('id="field-payment_plan"') :]
    )
    assert plans[:6] == [
        "gb_nhs",
        "gb_private:bupa",
        "gb_private:axa_health",
        "gb_private:vitality",
        "gb_private:aviva",
        "us_commercial:aetna",
    ]
    # British Sign Language is offered as a language to sign and to an interpreter.
    assert '<option value="bfi">British Sign Language</option>' in html
    assert 'id="language-bfi" name="languages" value="bfi"' in html


def test_a_wish_for_a_therapist_who_shares_who_you_are_orders_the_list_and_removes_nobody(
    clinic: Flask,
) -> None:
    client = clinic.test_client()
    without = fill(client, "/form", "/results", {**NEW_YORK_WISH, "identity": [], "languages": []})
    wished = fill(client, "/form", "/results", {**NEW_YORK_WISH, "languages": []})
    assert (without.status_code, wished.status_code) == (200, 200)
    assert sorted(cards(without.get_data(as_text=True))) == ["t-045", "t-048"]
    html = wished.get_data(as_text=True)
    assert sorted(cards(html)) == ["t-045", "t-048"]
    assert "Is Black, as they chose to tell people" in text(html)
    assert "Within your budget of $130: fee $120" in text(html)


def test_every_wrong_answer_is_named_at_once_and_every_other_answer_is_kept(
    clinic: Flask,
) -> None:
    client = clinic.test_client()
    answers = {
        **LONDON_NEEDS,
        "languages": [],
        "access": ["hearing_loop", "stairs"],  # a stale or changed page
        "interpreter": "klingon",
        "affirming": ["astrology"],
        "identity": ["ethnicity:martian"],
        "payment_plan": "",  # insurance, but which one?
        "max_fee": "90",  # a budget is for paying oneself
        "age": "thirty",
    }
    response = fill(client, "/form", "/results", answers, offered_only=False)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # In the order the page asks them.
    assert error_fields(html) == [
        "access",
        "interpreter",
        "age",
        "affirming",
        "identity",
        "max_fee",
        "payment_plan",
    ]
    words = text(html)
    for message in (
        "Enter your age in years as a whole number, for example 34.",
        "Choose what you need at the office from the list.",
        "Choose the interpreter's language from the list.",
        "Choose the kinds of affirming care from the list.",
        "Choose what you would like your therapist to share with you from the list.",
        "You chose insurance or a public scheme: leave the most you can pay empty, or choose "
        "to pay yourself.",
        "Choose your insurer or scheme from the list, or choose another way to pay.",
    ):
        assert words.count(message) == 2, message  # in the summary and beside its field
    # Each error is read with its field.
    assert (
        '<select id="field-interpreter" name="interpreter" '
        'aria-describedby="interpreter-hint interpreter-error" aria-invalid="true">'
    ) in html
    # Every answer is still there, the wrong ones as typed.
    kept = Form(html, "/results").filled({})
    for name in ("location", "format", "city", "payment_method", "max_fee", "age"):
        assert kept.get(name) == answers[name], name
    # Values the page never offered (a stale or changed page) cannot be shown again.
    assert kept.getlist("access") == ["hearing_loop"]
    assert kept.get("interpreter") is None
    assert kept.getlist("difficulties") == ["depression"]


def test_a_plan_with_self_pay_and_an_unknown_method_are_named_too(clinic: Flask) -> None:
    client = clinic.test_client()
    answers = {**LONDON_NEEDS, "payment_method": "self_pay", "languages": []}
    html = fill(client, "/form", "/results", answers).get_data(as_text=True)
    assert error_fields(html) == ["payment_plan"]
    assert (
        "You chose to pay yourself: leave the insurer or scheme empty, or choose insurance."
        in text(html)
    )
    tampered = {**LONDON_NEEDS, "payment_method": "barter", "languages": []}
    html = fill(client, "/form", "/results", tampered, offered_only=False).get_data(as_text=True)
    assert error_fields(html) == ["payment_method"]
    assert "Choose how you will pay: yourself, or insurance or a public scheme." in text(html)


def test_a_yes_to_self_harm_gets_crisis_help_first_whatever_else_is_wrong(clinic: Flask) -> None:
    client = clinic.test_client()
    answers = {
        "self_harm_thoughts": "yes",
        "access": ["stairs"],
        "interpreter": "klingon",
        "identity": ["nobody"],
        "payment_method": "barter",
        "payment_plan": "nowhere:nobody",
        "payment_currency": "XXX",
        "max_fee": "lots",
    }
    response = fill(client, "/form", "/results", answers, offered_only=False)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "116 123" in html and html.index("116 123") < html.index('id="error-summary"')
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Safety-Event-Id"])
    # The stepped form: the same on the step that asks, and on every step after it.
    stepped = clinic.test_client()
    fill(
        stepped,
        "/find/help",
        "/find/help",
        {"difficulties": ["grief"], "self_harm_thoughts": "yes"},
    )
    response = fill(
        stepped,
        "/find/payment",
        "/find/payment",
        {"payment_method": "barter", "max_fee": "lots"},
        offered_only=False,
    )
    assert response.status_code == 303
    html = stepped.get("/find/payment").get_data(as_text=True)
    assert "116 123" in html and html.index("116 123") < html.index('id="error-summary"')
    assert error_fields(html) == ["payment_method", "max_fee"]
    # The console: the receptionist's urgent protocol first, before the caller's errors.
    desk = staff_logged_in(clinic, "desk", PASSWORD)
    response = fill(desk, "/staff", "/staff", {**answers, "action": "match"}, offered_only=False)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.index('id="urgent-protocol"') < html.index('id="error-summary"')
    assert "116 123" in html


def stepped_through(client: FlaskClient, answers: Mapping[str, Any]) -> None:
    """Go through every step of /find, each with the answers its page asks."""
    for step in ("where", "help", "questionnaires", "preferences", "payment"):
        html = client.get(f"/find/{step}").get_data(as_text=True)
        form = Form(html, f"/find/{step}")
        mine = {name: value for name, value in answers.items() if name in form.kinds}
        response = client.post(f"/find/{step}", data=form.filled(mine))
        assert response.status_code == 303, step
        assert "#error-summary" not in response.headers["Location"], step


def test_the_stepped_form_asks_each_need_lists_it_to_check_and_matches_it(clinic: Flask) -> None:
    client = clinic.test_client()
    stepped_through(client, {**LONDON_NEEDS, "languages": []})
    html = client.get("/find/check").get_data(as_text=True)
    words = text(html)
    for row in (
        "What you need at the office Hearing loop Change",
        "Interpreter British Sign Language Change",
        "Affirming care Neurodiversity affirming Change",
        "A therapist who shares part of who you are Not asked for Change",
        "How you will pay Insurance or a public scheme (such as the NHS) Change",
        "Insurance or scheme Bupa (UK private medical insurance) Change",
        "Most you can pay per session Not a concern Change",
    ):
        assert row in words, row
    for link in (
        "/find/where?change=1#field-access",
        "/find/preferences?change=1#field-interpreter",
        "/find/preferences?change=1#field-affirming",
        "/find/preferences?change=1#field-identity",
        "/find/payment?change=1#field-payment_method",
        "/find/payment?change=1#field-payment_plan",
    ):
        assert f'<a href="{link}">' in html, link
    assert (
        client.post("/find/check", data=Form(html, "/find/check").filled({})).headers["Location"]
        == "/find/results"
    )
    results = client.get("/find/results").get_data(as_text=True)
    assert cards(results) == ["t-027"]
    for sentence in LONDON_SENTENCES:
        assert sentence in text(results), sentence


def test_the_stepped_form_asks_the_budget_in_the_currency_of_where_you_will_be(
    clinic: Flask,
) -> None:
    client = clinic.test_client()
    stepped_through(client, {**NEW_YORK_WISH, "payment_currency": ""})
    payment = client.get("/find/payment").get_data(as_text=True)
    assert '<label for="field-max_fee">Most you can pay per session (USD)</label>' in payment
    assert "Most you can pay per session $130 Change" in text(
        client.get("/find/check").get_data(as_text=True)
    )
    results = client.get("/find/results").get_data(as_text=True)
    assert sorted(cards(results)) == ["t-045", "t-048"]
    assert "Within your budget of $130: fee $120" in text(results)


def test_a_step_shows_every_error_of_its_new_questions_at_once(clinic: Flask) -> None:
    client = clinic.test_client()
    answers = {"interpreter": "klingon", "affirming": ["astrology"], "age": "x"}
    response = fill(client, "/find/preferences", "/find/preferences", answers, offered_only=False)
    assert response.headers["Location"] == "/find/preferences#error-summary"
    html = client.get("/find/preferences").get_data(as_text=True)
    assert error_fields(html) == ["interpreter", "age", "affirming"]
    assert 'name="age" value="x"' in html


def test_the_browser_language_and_the_clinics_are_ticked_on_a_fresh_form(clinic: Flask) -> None:
    spanish = {"Accept-Language": "es-ES,es;q=0.9"}
    for page in ("/form", "/find/preferences"):
        html = clinic.test_client().get(page, headers=spanish).get_data(as_text=True)
        ticked = re.findall(r'name="languages" value="(\w+)" checked', html)
        assert sorted(ticked) == ["en", "es"], page
    desk = staff_logged_in(clinic, "desk", PASSWORD)
    html = desk.get("/staff", headers=spanish).get_data(as_text=True)
    assert sorted(re.findall(r'name="languages" value="(\w+)" checked', html)) == ["en", "es"]
    # No browser language: the clinic's alone (a London clinic: English).
    html = clinic.test_client().get("/form").get_data(as_text=True)
    assert re.findall(r'name="languages" value="(\w+)" checked', html) == ["en"]


def test_a_person_can_untick_the_languages_ticked_for_them(clinic: Flask) -> None:
    spanish = {"Accept-Language": "es"}
    client = clinic.test_client()
    html = client.get("/find/preferences", headers=spanish).get_data(as_text=True)
    form = Form(html, "/find/preferences")
    assert sorted(form.filled({}).getlist("languages")) == ["en", "es"]
    client.post("/find/preferences", data=form.filled({"languages": []}), headers=spanish)
    again = client.get("/find/preferences", headers=spanish).get_data(as_text=True)
    assert re.findall(r'name="languages" value="(\w+)" checked', again) == []
    assert "Languages Any language Change" in text(client.get("/find/check").get_data(as_text=True))
    # On one page: the form sent with nothing ticked asks for no language.
    page = Form(client.get("/form", headers=spanish).get_data(as_text=True), "/results")
    sent = page.filled({"difficulties": ["grief"], "languages": []})
    assert sorted(page.filled({}).getlist("languages")) == ["en", "es"]
    assert intake_from_form(sent, clinic.extensions["matcher"]) == {"difficulties": ["grief"]}


def test_the_console_asks_the_callers_needs_and_payment(clinic: Flask) -> None:
    desk = staff_logged_in(clinic, "desk", PASSWORD)
    html = desk.get("/staff").get_data(as_text=True)
    words = text(html)
    for question in (
        "Where will the caller be during sessions?",
        "Does the caller need any of these at the office?",
        "Will the caller need an interpreter, or use a sign language?",
        "Does the caller need a therapist who offers any of these?",
        "Would the caller like a therapist who shares part of who they are?",
        "How will the caller pay for sessions?",
        "If the caller uses insurance or a public scheme: which one?",
    ):
        assert question in words, question
    assert html.index('id="field-location"') < html.index('id="field-difficulties"')
    console = Form(html, "/staff")
    response = desk.post(
        "/staff",
        data=console.filled({**LONDON_NEEDS, "languages": [], "action": "match"}),
        follow_redirects=True,
    )
    assert response.status_code == 200
    answer = response.get_data(as_text=True)
    assert cards(answer) == ["t-027"]
    bad = {
        **LONDON_NEEDS,
        "languages": [],
        "interpreter": "klingon",
        "payment_plan": "",
        "max_fee": "9",
    }
    response = desk.post(
        "/staff", data=console.filled({**bad, "action": "match"}, offered_only=False)
    )
    # Redirected to the call's page, which shows every error of the answers kept.
    assert response.status_code == 303
    assert error_fields(desk.get("/staff").get_data(as_text=True)) == [
        "interpreter",
        "max_fee",
        "payment_plan",
    ]


@pytest.mark.parametrize(
    ("typed", "location"),
    [
        ("Italy", {"country": "IT"}),
        ("US-NJ", {"country": "US", "region": "US-NJ"}),
        ("New Jersey", {"country": "US", "region": "US-NJ"}),
    ],
)
def test_a_place_not_in_the_list_can_be_typed(
    clinic: Flask, typed: str, location: dict[str, str]
) -> None:
    client = clinic.test_client()
    page = Form(client.get("/form").get_data(as_text=True), "/results")
    assert "IT" not in page.offered["location"]  # the roster's places only
    sent = page.filled({"location": "", "location_region": typed, "difficulties": ["grief"]})
    assert intake_from_form(sent, clinic.extensions["matcher"])["location"] == location


def test_a_typed_place_that_names_nothing_is_named_in_the_error(clinic: Flask) -> None:
    client = clinic.test_client()
    answers = {"location": "", "location_region": "Atlantis", "difficulties": ["grief"]}
    html = fill(client, "/form", "/results", answers).get_data(as_text=True)
    assert error_fields(html) == ["location", "location_region"]
    words = text(html)
    assert (
        "Choose where you will be from the list, or type the country or region it is in." in words
    )
    assert "'Atlantis' is not an ISO 3166-2 region code such as US-NJ or GB-SCT." in words
    assert 'name="location_region" value="Atlantis"' in html
