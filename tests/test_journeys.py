"""The person's journey: the form in steps, the results, asking about a therapist, e-mail."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.storage.database import now
from matcher.web import create_app
from tests.forms import form_token
from tests.receivers import Inbox, smtp_server


@pytest.fixture()
def stepped(tmp_path: Path) -> Iterator[Flask]:
    """The app as clinics run it by default: "/" starts the form in steps; UK crisis numbers."""
    app = create_app(
        {
            "TESTING": True,
            "LOCALE": "GB",
            "RATE_LIMIT": "",
            "STATE_DIR": str(tmp_path),
            "SECRET_KEY": "journeys-" + "k" * 32,
            "CLINIC_TIMEZONE": "Europe/London",
        }
    )
    yield app


def token_of(client: FlaskClient, path: str = "/find/where") -> str:
    """The form token of a step page (the session's, as a browser has it)."""
    return form_token(client.get(path).get_data(as_text=True))


def post_step(client: FlaskClient, step: str, data: dict[str, Any], **extra: str) -> Any:
    """Continue from one step, as the browser posts it."""
    return client.post(f"/find/{step}", data={**data, **extra, "csrf_token": token_of(client)})


def text(html: str) -> str:
    """The page's words, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def answered(client: FlaskClient) -> None:
    """Go through every step with answers for someone in Madrid, in person, after trauma."""
    assert post_step(client, "where", {"format": "in_person", "city": "Madrid"}).status_code == 303
    assert post_step(client, "help", {"difficulties": ["ptsd"], "self_harm_thoughts": "no"})
    assert post_step(client, "questionnaires", {}).status_code == 303
    preferences = {"languages": "es", "age": "34"}
    assert post_step(client, "preferences", preferences).headers["Location"] == "/find/payment"
    payment = {"payment_method": "self_pay", "max_fee": "90"}
    assert post_step(client, "payment", payment).headers["Location"] == "/find/check"


def test_the_front_page_starts_the_form_in_steps(stepped: Flask) -> None:
    client = stepped.test_client()
    assert client.get("/").headers["Location"] == "/find"
    assert client.get("/find").headers["Location"] == "/find/where"
    html = client.get("/find/where").get_data(as_text=True)
    assert '<p class="progress" id="progress">Step 1 of 6</p>' in html
    assert '<h1 id="step-title">Where you are and how you would like to meet</h1>' in html
    # The roster's places as a pick-list, free text allowed.
    assert '<datalist id="city-suggestions">' in html and '<option value="Madrid">' in html
    # The whole form on one page stays, for clinics that embed it.
    assert '<form method="post" action="/results"' in client.get("/form").get_data(as_text=True)


def test_every_step_redirects_so_back_and_reload_never_resend_a_form(stepped: Flask) -> None:
    client = stepped.test_client()
    response = post_step(client, "where", {"format": "online"})
    assert (response.status_code, response.headers["Location"]) == (303, "/find/help")
    # Back to the first step: the answer is still there, read from the server-side draft.
    html = client.get("/find/where").get_data(as_text=True)
    assert 'id="format-online" name="format" value="online" checked' in html
    assert client.get("/find/where").headers["Cache-Control"] == "no-store"


def test_the_answers_are_never_in_an_address_or_the_cookie(stepped: Flask) -> None:
    client = stepped.test_client()
    answered(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = stepped.session_interface.get_signing_serializer(stepped)  # type: ignore[attr-defined]
    held = serializer.loads(cookie.value)
    assert "ptsd" not in json.dumps(held) and "Madrid" not in json.dumps(held)
    assert set(held) <= {"csrf", "draft", "draft_errors_for"}


def test_every_error_of_a_step_is_shown_at_once_after_the_redirect(stepped: Flask) -> None:
    client = stepped.test_client()
    post_step(client, "where", {"format": "in_person"})
    response = post_step(client, "preferences", {"age": "abc", "interpreter": "xx"})
    assert (response.status_code, response.headers["Location"]) == (
        303,
        "/find/preferences#error-summary",
    )
    html = client.get("/find/preferences").get_data(as_text=True)
    assert "<title>Error: Your therapist · matcher</title>" in html
    assert re.findall(r'id="([a-z_]+)-error"', html) == ["interpreter", "age"]
    # What was typed is kept, wrong as it is, for the person to correct.
    assert 'name="age" value="abc"' in html
    # The missing city belongs to the first step: it is shown there, not here.
    where = client.get("/find/where").get_data(as_text=True)
    assert 'id="city-error"' not in where  # not asked to show the first step's errors yet
    assert (
        client.post("/find/check", data={"csrf_token": token_of(client)}).headers["Location"]
        == "/find/where#error-summary"
    )
    assert "Enter the city where you would go to sessions, or choose online." in client.get(
        "/find/where"
    ).get_data(as_text=True)


def test_check_your_answers_lists_every_answer_with_a_change_link(stepped: Flask) -> None:
    client = stepped.test_client()
    answered(client)
    html = client.get("/find/check").get_data(as_text=True)
    words = text(html)
    for row in (
        "Online or in the office In person Change",
        "City Madrid Change",
        "What you would like help with After a traumatic event (PTSD) Change",
        "Languages Spanish Change",
        "Your age 34 Change",
        "Most you can pay per session €90 Change",
        "PHQ-9 Skipped Change",
    ):
        assert row in words, row
    assert '<a href="/find/preferences?change=1#field-age">' in html
    # A change goes back to the answers, not on through every step.
    change = client.get("/find/preferences?change=1").get_data(as_text=True)
    assert '<input type="hidden" name="return_to" value="check">' in change
    response = post_step(client, "preferences", {"languages": "es", "age": "35"}, return_to="check")
    assert response.headers["Location"] == "/find/check"
    assert "Your age 35 Change" in text(client.get("/find/check").get_data(as_text=True))


def test_the_results_are_a_page_of_their_own_with_therapists_first(stepped: Flask) -> None:
    client = stepped.test_client()
    answered(client)
    sent = client.post("/find/check", data={"csrf_token": token_of(client)})
    assert sent.headers["Location"] == "/find/results"
    html = client.get("/find/results").get_data(as_text=True)
    assert html.index('id="matches-title"') < html.index('id="modalities-title"')
    assert '<article class="card" id="therapist-t-001"' in html
    assert 'id="ask-t-001">Ask the clinic about Lucía Fernández Ortega</button>' in html
    # Sources are links, not inline citations.
    assert re.search(r'<span class="source">Sources?: <a href="https://', html)


def test_clear_my_answers_forgets_the_draft(stepped: Flask) -> None:
    client = stepped.test_client()
    answered(client)
    response = client.post("/find/clear", data={"csrf_token": token_of(client)})
    assert response.headers["Location"] == "/find/where?cleared=1"
    html = client.get("/find/where?cleared=1").get_data(as_text=True)
    assert (
        "Your answers have been cleared." in html and "checked" not in html.split("format")[1][:200]
    )
    assert client.get("/find/check").headers["Location"] == "/find"
    assert stepped.extensions["drafts"].purge_expired(now() + timedelta(days=1)) == 0


def test_a_draft_times_out(stepped: Flask) -> None:
    client = stepped.test_client()
    answered(client)
    later = now() + timedelta(minutes=stepped.config["DRAFT_MINUTES"] + 1)
    assert stepped.extensions["drafts"].purge_expired(later) == 1
    assert client.get("/find/check").headers["Location"] == "/find"


# --- safety on every step -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "answers"),
    [
        ("help", {"difficulties": "grief", "self_harm_thoughts": "yes"}),
        ("questionnaires", {**{f"phq9-{n}": "0" for n in range(1, 9)}, "phq9-9": "1"}),
        # An incomplete questionnaire is an error, but item 9 counts all the same.
        ("questionnaires", {"phq9-9": "2"}),
    ],
)
def test_risk_answered_at_any_step_shows_crisis_help_at_once_and_on_every_step_after(
    stepped: Flask, step: str, answers: dict[str, str]
) -> None:
    client = stepped.test_client()
    response = post_step(client, step, answers)
    assert response.status_code == 303
    assert "X-Safety-Event-Id" in response.headers
    for path in ("/find/where", "/find/help", "/find/questionnaires", "/find/preferences"):
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert "X-Safety-Event-Id" in page.headers, path
        main = html[html.index('<main id="main"') :]
        # The crisis block is the first thing in the page's main content, with the UK numbers.
        assert re.match(r'<main id="main" tabindex="-1">\s*<section id="crisis"', main), path
        assert "Samaritans" in html and "999" in html


def test_a_step_that_cannot_be_kept_still_shows_crisis_help(stepped: Flask) -> None:
    client = stepped.test_client()
    token = token_of(client)
    drafts = stepped.extensions["drafts"]
    from sqlalchemy.exc import OperationalError

    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("save", {}, Exception("database is down"))

    drafts.save, kept = down, drafts.save
    try:
        response = client.post(
            "/find/help",
            data={"difficulties": "grief", "self_harm_thoughts": "yes", "csrf_token": token},
        )
    finally:
        drafts.save = kept
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert html.index('id="crisis"') < html.index("We could not keep your answers just now")


# --- asking the clinic about one therapist --------------------------------------------------------


def ask_form(client: FlaskClient, therapist: str = "t-001") -> dict[str, Any]:
    """Open the ask form from the results of the stepped form; its fields as the page has them."""
    answered(client)
    results = client.get("/find/results").get_data(as_text=True)
    card = results[results.index(f'id="therapist-{therapist}"') :]
    form = card[card.index('<form method="post" action="/ask"') : card.index("</form>")]
    fields: dict[str, Any] = {}
    for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form):
        fields.setdefault(name, []).append(value)
    page = client.post("/ask", data=fields)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    contact_form = html[html.index('action="/ask/send"') :]
    sent: dict[str, Any] = {}
    for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', contact_form):
        if name not in ("preferred", "consent"):
            sent.setdefault(name, []).append(value)
    return sent


def test_asking_about_a_therapist_makes_one_referral_naming_them_with_a_reference(
    stepped: Flask,
) -> None:
    client = stepped.test_client()
    form = ask_form(client)
    contact = {"contact_name": "Sam", "contact_email": "sam@example.org", "consent": "yes"}
    first = client.post("/ask/send", data={**form, **contact, "preferred": "email"})
    assert (first.status_code, first.headers["Location"]) == (303, "/ask/sent")
    again = client.post("/ask/send", data={**form, **contact, "preferred": "email"})
    assert again.status_code == 303
    referrals = stepped.extensions["referrals"]
    assert referrals.count() == 1  # the same form sent twice: one referral
    stored = referrals.queue()[0]
    assert stored["asked_about"] == "t-001"
    assert referrals.get(stored["id"])["intake"]["difficulties"] == ["ptsd"]
    html = client.get("/ask/sent").get_data(as_text=True)
    reference = stored["reference"]
    assert f'<strong id="reference">{reference}</strong>' in html
    assert re.search(
        r"The clinic will contact you about Lucía Fernández Ortega by "
        r"(Monday|Tuesday|Wednesday|Thursday|Friday) \d{1,2} [A-Z][a-z]+</strong>, by email",
        html,
    )


def test_asking_needs_consent_and_a_way_to_reach_the_person(stepped: Flask) -> None:
    client = stepped.test_client()
    form = ask_form(client)
    response = client.post("/ask/send", data={**form, "contact_name": "Sam"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give an email address or a phone number." in html
    assert stepped.extensions["referrals"].count() == 0
    no_consent = client.post(
        "/ask/send", data={**form, "contact_name": "Sam", "contact_phone": "020 7946 0000"}
    )
    assert no_consent.status_code == 422
    assert "Needed to keep your request" in no_consent.get_data(as_text=True)
    assert stepped.extensions["referrals"].count() == 0


def test_asking_about_a_therapist_not_on_the_roster_is_a_page_that_says_so(
    stepped: Flask,
) -> None:
    client = stepped.test_client()
    response = client.post("/ask", data={"therapist": "t-999", "csrf_token": token_of(client)})
    assert response.status_code == 404
    assert "That therapist is not on our list any more." in response.get_data(as_text=True)


# --- e-mail me the results ------------------------------------------------------------------------


@pytest.fixture()
def mail() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as server:
        yield server


def test_the_results_are_sent_only_to_the_address_typed_with_nothing_in_the_subject(
    tmp_path: Path, mail: tuple[int, Inbox]
) -> None:
    port, inbox = mail
    app = create_app(
        {
            "TESTING": True,
            "RATE_LIMIT": "",
            "STATE_DIR": str(tmp_path),
            "SECRET_KEY": "mail-" + "k" * 32,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "SMTP_TLS": "none",
            "NOTIFY_FROM": "matcher@clinic.example",
            "NOTIFY_TO": "desk@clinic.example",
            "NOTIFY_IN_SERVICE": False,
            "PUBLIC_URL": "https://clinic.example",
        }
    )
    client = app.test_client()
    answered(client)
    results = client.get("/find/results").get_data(as_text=True)
    form = results[results.index('action="/results/email"') :]
    fields: dict[str, Any] = {}
    for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form[: form.index("</form>")]):
        fields.setdefault(name, []).append(value)
    bad = client.post("/results/email", data={**fields, "email_to": "not an address"})
    assert bad.status_code == 422
    assert "Enter an e-mail address like name@example.com." in bad.get_data(as_text=True)
    sent = client.post("/results/email", data={**fields, "email_to": "sam@example.org"})
    assert sent.status_code == 200
    assert "We sent your results to sam@example.org." in sent.get_data(as_text=True)
    [message] = inbox.wait_for(1)
    assert message.recipients == ["sam@example.org"]
    assert message.message["Subject"] == "The therapists you looked at"
    assert "Lucía Fernández Ortega (strong fit)" in message.body
    assert "Profile: https://clinic.example/therapists/t-001" in message.body


def test_the_contact_given_on_the_one_page_form_fills_in_the_ask_form(stepped: Flask) -> None:
    client = stepped.test_client()
    token = form_token(client.get("/form").get_data(as_text=True))
    results = client.post(
        "/results",
        data={
            "difficulties": "grief",
            "contact_name": "Sam",
            "contact_email": "sam@example.org",
            "consent": "yes",
            "csrf_token": token,
        },
    ).get_data(as_text=True)
    form = results[results.index('<form method="post" action="/ask"') :]
    form = form[: form.index("</form>")]
    fields: dict[str, Any] = {}
    for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form):
        fields.setdefault(name, []).append(value)
    html = client.post("/ask", data=fields).get_data(as_text=True)
    assert 'name="contact_name" value="Sam"' in html
    assert 'name="contact_email" value="sam@example.org"' in html


def test_an_abandoned_draft_goes_with_the_next_save_anyone_makes(stepped: Flask) -> None:
    drafts = stepped.extensions["drafts"]
    minutes = stepped.config["DRAFT_MINUTES"]
    drafts.save("abandoned", [("difficulties", "grief")], at=now() - timedelta(minutes=minutes + 5))
    drafts.save("someone else", [("format", "online")])
    assert drafts.purge_expired() == 0  # already gone
    assert drafts.load("someone else") == [("format", "online")]


@pytest.mark.parametrize("path", ["/find/where", "/find/help", "/ask", "/results/email"])
def test_a_yes_to_self_harm_in_a_body_too_large_to_read_still_gets_crisis_help(
    stepped: Flask, path: str
) -> None:
    client = stepped.test_client()
    client.get("/find")
    body = "self_harm_thoughts=yes&difficulties=ptsd&notes=" + "x" * 70_000
    response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response.get_json()["safety"]["urgent"] is True
    assert response.headers["X-Safety-Event-Id"]
