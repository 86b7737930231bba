"""The pages (intake form, results, checklist) and the front-desk console, through Flask's client."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from matcher.web import create_app
from tests.forms import form_token

MADRID = {
    "difficulties": ["ptsd", "depression"],
    "languages": ["es"],
    "format": "in_person",
    "city": "Madrid",
    "max_fee": "90",
}
PASSWORD = "correct horse battery staple"


class Page(HTMLParser):
    """The parts of a page the tests look at: elements by id, form controls, labels, order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.checked: set[str] = set()
        self.main_children: list[str] = []
        self._depth = 0
        self._main_depth: int | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        void = tag in {"input", "br", "meta", "link", "img"}
        if self._main_depth is not None and self._depth == self._main_depth + 1:
            self.main_children.append(found.get("id") or tag)
        if "id" in found:
            self.ids.append(found["id"])
        if tag in {"input", "select", "textarea"}:
            self.controls.append({"tag": tag, **found})
            if "checked" in found:
                self.checked.add(found.get("id", ""))
        if tag == "label" and "for" in found:
            self.label_for.add(found["for"])
        if tag == "main":
            self._main_depth = self._depth
        if not void:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"input", "br", "meta", "link", "img"}:
            self._depth -= 1
            if tag == "main":
                self._main_depth = None


def submit(client: FlaskClient, data: Any) -> Any:
    """Post the intake form as a browser does: with the form token from the page."""
    page = client.get("/form").get_data(as_text=True)
    return client.post("/results", data={**dict(data), "csrf_token": form_token(page)})


def test_the_intake_form_refuses_a_post_without_its_token_and_keeps_the_answers(
    client: FlaskClient,
) -> None:
    response = client.post("/results", data={"difficulties": "grief", "city": "Madrid"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The form had expired. Please check your answers and send it again." in html
    assert 'value="Madrid"' in html


def text(html: str) -> str:
    """The page's words, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


USERNAME = "frontdesk"


@pytest.fixture(scope="module")
def gb_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app with UK crisis resources and one staff account."""
    state = tmp_path_factory.mktemp("staff-state")
    app = create_app(
        {
            "TESTING": True,
            "LOCALE": "GB",
            "SECRET_KEY": "test-key-" + "k" * 32,
            "STATE_DIR": str(state),
            "RATE_LIMIT": "",
            "LOGIN_RATE_LIMIT": "",
        }
    )
    app.extensions["accounts"].add(USERNAME, PASSWORD, "staff", "test")
    return app


# --- the intake form --------------------------------------------------------------------------


def test_every_input_and_select_on_the_form_has_a_label(client: FlaskClient) -> None:
    page = Page(client.get("/").get_data(as_text=True))
    visible = [c for c in page.controls if c.get("type") not in {"hidden", "submit", "button"}]
    assert len(visible) > 90  # 15 difficulties, 16 questionnaire items x 4, languages...
    unlabelled = [
        c.get("id") or c.get("name") for c in visible if c.get("id") not in page.label_for
    ]
    assert unlabelled == []


def test_the_form_offers_difficulties_in_plain_words_and_the_real_questionnaires(
    client: FlaskClient,
) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert '<label for="difficulty-depression">Low mood and depression' in html
    assert (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
        in html
    )
    assert "Thoughts that you would be better off dead, or of hurting yourself in some way" in html
    assert "Feeling afraid, as if something awful might happen" in html
    for value, answer in enumerate(
        ("Not at all", "Several days", "More than half the days", "Nearly every day")
    ):
        assert f'<label for="phq9-9-{value}">{answer}</label>' in html
    page = Page(html)
    assert {
        "phq9-9-0",
        "phq9-9-3",
        "gad7-7-3",
        "phq9_difficulty-3",
        "self_harm_thoughts-yes",
    } <= set(page.ids)
    assert {
        "format-online",
        "setting-group",
        "setting-couple",
        "field-city",
        "field-age",
        "field-max_fee",
        "language-es",
    } <= set(page.ids)
    assert '<form method="post" action="/results"' in html


def test_a_wrong_answer_shows_beside_its_field_and_every_answer_is_kept(
    client: FlaskClient,
) -> None:
    response = submit(
        client,
        {
            "difficulties": ["ptsd", "grief"],
            "languages": ["es"],
            "format": "in_person",
            "setting": "individual",
            "age": "34",
            "self_harm_thoughts": "no",
        },
    )
    assert response.status_code == 422
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    message = "Enter the city where you would go to sessions, or choose online."
    assert (
        '<label for="field-city">City</label>\n    <p class="hint" id="city-hint">Needed for sessions in the office.</p>\n'
        f'    <p class="error-message" id="city-error"><span class="visually-hidden">Error: </span>{message}</p>'
    ) in html
    assert (
        'id="field-city" name="city" value="" autocomplete="address-level2" aria-describedby="city-hint city-error" aria-invalid="true">'
        in html
    )
    assert f'<a href="#field-city">{message}</a>' in html
    page = Page(html)
    assert {
        "difficulty-ptsd",
        "difficulty-grief",
        "language-es",
        "format-in_person",
        "setting-individual",
        "self_harm_thoughts-no",
        "therapist_gender-any",
        "payment_method-any",
        "trauma_since-none",
        "trauma_combat_related-none",
    } == page.checked
    assert 'name="age" value="34"' in html


def test_a_partly_answered_phq9_is_an_error_never_a_lower_score(client: FlaskClient) -> None:
    answers = {f"phq9-{n}": "2" for n in range(1, 6)}
    response = submit(client, {"difficulties": ["depression"], **answers})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        '<p class="error-message" id="phq9-error"><span class="visually-hidden">Error: </span>PHQ-9 is incomplete '
        "or invalid: items 6, 7, 8 and 9 are missing. Every item is needed: a missing answer is never counted as 0.</p>"
    ) in html
    assert '<details class="questionnaire" id="phq9-section" open>' in html
    assert '<details class="questionnaire" id="gad7-section">' in html
    assert {f"phq9-{n}-2" for n in range(1, 6)} <= Page(html).checked


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "difficulties", "Choose at least one thing you would like help with (ten at most)."),
        (
            {"difficulties": "ocd", "age": "thirty"},
            "age",
            "Enter your age in years as a whole number, for example 34.",
        ),
        (
            {"difficulties": "ocd", "max_fee": "60.50"},
            "max_fee",
            "Enter an amount as a whole number, for example 60.",
        ),
        (
            {"difficulties": "ocd", "age": "130"},
            "age",
            "Must be greater than or equal to 0 and less than or equal to 120.",
        ),
        (
            {"difficulties": "ocd", "gad7-1": "1", "gad7-7": "1"},
            "gad7",
            "GAD-7 is incomplete or invalid: item 2 is missing; item 3 is missing; item 4 is missing; item 5 is missing; item 6 is missing. Every item is needed: a missing answer is never counted as 0.",
        ),
    ],
)
def test_each_problem_is_named_beside_its_own_field(
    client: FlaskClient, data: dict[str, str], field: str, message: str
) -> None:
    response = submit(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        f'<p class="error-message" id="{field}-error"><span class="visually-hidden">Error: </span>{message}</p>'
        in html
    )


def test_results_only_come_from_a_submitted_form(client: FlaskClient) -> None:
    response = client.get("/results?difficulties=ptsd")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


# --- results ----------------------------------------------------------------------------------


def test_results_explain_the_kinds_of_therapy_and_show_therapists_as_cards(
    client: FlaskClient,
) -> None:
    response = submit(client, MADRID)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "X-Safety-Event-Id" not in response.headers
    html = response.get_data(as_text=True)
    page = Page(html)
    modalities = [i.removeprefix("modality-") for i in page.ids if i.startswith("modality-")]
    assert modalities == [
        "tf_cbt",
        "emdr",
        "cbt",
        "behavioural_activation",
        "ipt",
        "counselling",
        "psychodynamic",
    ]
    cards = [i.removeprefix("therapist-") for i in page.ids if i.startswith("therapist-")]
    # t-005's office is nearer the centre of Madrid than t-003's: the distance points decide.
    # t-008 and t-007 practise no approach recommended for trauma or low mood and list neither:
    # weak fits, no longer matches.
    assert cards == ["t-001", "t-005", "t-003"]
    words = text(html)
    assert "Lucía Fernández Ortega (she/her) PsyD, licensed clinical psychologist (Spain)" in words
    assert "Languages Spanish, English" in words
    assert "Fee €80 per session (sliding scale from €55)" in words
    assert "Speaks Spanish, as you asked" in words
    assert (
        "Practises EMDR, recommended for you (you mentioned the effects of a traumatic event)"
        in words
    )
    # People read the fit in words; the numbers are for staff.
    card = html[html.index('id="therapist-t-001"') :]
    card = card[: card.index("</article>")]
    assert '<p class="fit fit-strong">Strong fit</p>' in card
    assert "out of" not in words and "points" not in words and "score-chart" not in html
    assert '<a href="/therapists/t-001" id="profile-link-t-001">' in card
    assert "style=" not in html and "<script>" not in html
    assert (
        '<a id="checklist-link" href="/checklist?modalities=tf_cbt,emdr,cbt,behavioural_activation,ipt,counselling,psychodynamic&amp;format=in_person&amp;languages=es">'
    ) in html


def test_urgent_answers_put_crisis_resources_first_and_log_the_event(
    gb_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="matcher.safety"):
        response = submit(
            gb_app.test_client(), {"difficulties": "depression", "self_harm_thoughts": "yes"}
        )
    assert response.status_code == 200
    event_id = response.headers["X-Safety-Event-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", event_id)
    assert [r.getMessage() for r in caplog.records if event_id in r.getMessage()][0].count(
        '"source": "/results"'
    ) == 1
    html = response.get_data(as_text=True)
    page = Page(html)
    assert page.main_children[0] == "crisis"
    assert (
        html.index('id="crisis"')
        < html.index('id="results-title"')
        < html.index('id="modalities-title"')
    )
    words = text(html[html.index('id="crisis"') : html.index('id="results-title"')])
    assert words.startswith(
        'id="crisis" class="crisis" role="alert" aria-labelledby="crisis-title" tabindex="-1"> '
        "Support for you, now "
    )
    assert "call 999 now" in words and "Emergency: 999" in words
    assert "Samaritans : 116 123 (24/7)" in words and "Shout : Text SHOUT to 85258" in words
    assert '<a href="tel:116123">116 123</a>' in html
    assert html.count("You told us you have had thoughts of harming yourself") == 1
    assert "A clinician talks with you before any booking" in html


def test_phq9_item_9_above_0_is_urgent_too(gb_app: Flask) -> None:
    answers = {f"phq9-{n}": "0" for n in range(1, 10)} | {"phq9-9": "1"}
    response = submit(gb_app.test_client(), {"difficulties": "depression", **answers})
    assert "X-Safety-Event-Id" in response.headers
    assert Page(response.get_data(as_text=True)).main_children[0] == "crisis"
    assert "A PHQ-9 total of 1 of 27 is in the minimal range." in text(
        response.get_data(as_text=True)
    )


GB_CRISIS_MESSAGE = (
    "You told us you have had thoughts of harming yourself or that you would be better off dead. "
    "You deserve support now, not only when therapy starts. If you might act on these thoughts or "
    "you are in danger now, call 999 now. Before any booking, a clinician from the clinic should "
    "talk with you first."
)


@pytest.mark.parametrize(
    "answers",
    [
        {"self_harm_thoughts": "yes", "age": "121"},
        {"self_harm_thoughts": "yes", "difficulties": "grief", "city": "x" * 101},
        {"self_harm_thoughts": "yes", "format": "in_person", "languages": "Spanish"},
        {f"phq9-{n}": "1" for n in range(1, 8)} | {"phq9-9": "3", "difficulties": "depression"},
    ],
)
def test_a_form_with_errors_after_risk_answers_shows_the_crisis_resources_before_the_errors(
    gb_app: Flask, caplog: pytest.LogCaptureFixture, answers: dict[str, str]
) -> None:
    with caplog.at_level(logging.WARNING, logger="matcher.safety"):
        response = submit(gb_app.test_client(), answers)
    assert response.status_code == 422
    event_id = response.headers["X-Safety-Event-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", event_id) and event_id in caplog.text
    html = response.get_data(as_text=True)
    assert Page(html).main_children[:4] == ["crisis", "intake-title", "p", "error-summary"]
    assert '<h1 id="crisis-title">Support for you, now</h1>' in html
    assert '<h2 id="intake-title">Find a therapist who fits you</h2>' in html
    assert f'<p class="crisis-message">{GB_CRISIS_MESSAGE}</p>' in html
    assert (
        '<p class="crisis-emergency">Emergency: <strong><a href="tel:999">999</a></strong></p>'
        in html
    )
    assert html.index('id="crisis"') < html.index('id="error-summary"') < html.index("<form")


def test_an_expired_form_after_a_yes_shows_the_crisis_resources_too(gb_app: Flask) -> None:
    response = gb_app.test_client().post(
        "/results", data={"difficulties": "depression", "self_harm_thoughts": "yes"}
    )
    assert response.status_code == 400 and "X-Safety-Event-Id" in response.headers
    assert Page(response.get_data(as_text=True)).main_children[0] == "crisis"


@pytest.mark.parametrize(
    "answers",
    [
        {"self_harm_thoughts": "no", "age": "121"},
        {f"phq9-{n}": "1" for n in range(1, 8)} | {"phq9-9": "0", "difficulties": "depression"},
    ],
)
def test_a_form_with_errors_and_no_risk_answers_has_no_crisis_block(
    gb_app: Flask, answers: dict[str, str]
) -> None:
    response = submit(gb_app.test_client(), answers)
    assert response.status_code == 422 and "X-Safety-Event-Id" not in response.headers
    html = response.get_data(as_text=True)
    assert 'id="crisis"' not in html
    assert Page(html).main_children[:3] == ["intake-title", "p", "error-summary"]


URGENT_ANSWERS = {
    "difficulties": ["depression", "grief"],
    "self_harm_thoughts": "yes",
    "setting": "group",
    "phq9-1": "",
}


def hidden_fields(html: str, form_class: str) -> list[tuple[str, str]]:
    """The hidden (name, value) pairs of the form with this class, the token left out."""
    form = html[html.index(f'class="{form_class}"') :]
    form = form[: form.index("</form>")]
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    return [(name, value) for name, value in pairs if name != "csrf_token"]


def test_an_anonymous_urgent_person_is_invited_to_leave_a_way_to_reach_them(gb_app: Flask) -> None:
    response = submit(gb_app.test_client(), URGENT_ANSWERS)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert Page(html).main_children[:3] == ["crisis", "follow-up", "results-title"]
    assert '<h2 id="follow-up-title">Would you like the clinic to contact you?</h2>' in html
    assert (
        '<p id="follow-up-invitation">We cannot contact you from this answer alone. If you would '
        "like someone from the clinic to get in touch, leave your name and a phone number or "
        "email address.</p>"
    ) in html
    assert (
        "If you leave your name and a phone number or email address, we keep only that way to "
        "reach you and your questionnaire scores, so that a clinician can check on you. If you "
        "also tick the box, we keep your answers and the therapists we suggest as well, so that "
        "you do not have to repeat them. If you leave this empty, we keep nothing."
    ) in text(html)
    assert '<form method="post" action="/results" class="follow-up-form" novalidate>' in html
    carried = hidden_fields(html, "follow-up-form")
    assert carried[0][0] == "submission_id" and re.fullmatch(r"[0-9a-f]{32}", carried[0][1])
    assert carried[1:] == [
        ("difficulties", "depression"),
        ("difficulties", "grief"),
        ("self_harm_thoughts", "yes"),
        ("setting", "group"),
    ]
    page = Page(html)
    for control in ("field-contact_name", "field-contact_phone", "field-contact_email", "consent"):
        assert control in page.label_for
    # Advice for a group is not shown beside self-harm answers; one-to-one advice is.
    assert "a group fits low mood that is not too heavy" not in html
    assert "A grief group can help" not in html


def test_a_mistyped_email_in_the_invitation_shows_the_form_with_the_crisis_block_first(
    gb_app: Flask,
) -> None:
    client = gb_app.test_client()
    invited = submit(client, URGENT_ANSWERS).get_data(as_text=True)
    data = [
        *hidden_fields(invited, "follow-up-form"),
        ("contact_name", "Ro"),
        ("contact_email", "ro@"),
        ("csrf_token", form_token(invited)),
    ]
    response = client.post("/results", data=MultiDict(data))
    assert response.status_code == 422 and "X-Safety-Event-Id" in response.headers
    html = response.get_data(as_text=True)
    assert Page(html).main_children[:4] == ["crisis", "intake-title", "p", "error-summary"]
    assert '<a href="#field-contact_email">Not a valid email address.</a>' in html
    assert (
        'value="ro@"' in html
        and {"difficulty-depression", "difficulty-grief"} <= Page(html).checked
    )


def test_a_non_urgent_result_has_no_invitation(client: FlaskClient) -> None:
    html = submit(client, MADRID).get_data(as_text=True)
    assert 'id="follow-up"' not in html and "follow-up-form" not in html


@pytest.mark.parametrize(
    ("contact", "how"),
    [
        ({"contact_phone": "+44 20 7946 0000"}, "call you"),
        ({"contact_email": "ro@example.org"}, "e-mail you"),
        ({"contact_phone": "020 7946 0000", "contact_email": "ro@example.org"}, "call you"),
    ],
)
def test_an_urgent_person_who_leaves_a_contact_is_told_who_calls_and_when_never_invited_again(
    gb_app: Flask, contact: dict[str, str], how: str
) -> None:
    client = gb_app.test_client()
    invited = submit(client, URGENT_ANSWERS).get_data(as_text=True)
    answers = hidden_fields(invited, "follow-up-form")
    name = "Ro by " + " and ".join(contact)
    data = [*answers, ("contact_name", name), *contact.items(), ("csrf_token", form_token(invited))]
    response = client.post("/results", data=MultiDict(data))
    assert response.status_code == 200 and "X-Safety-Event-Id" in response.headers
    html = response.get_data(as_text=True)
    assert Page(html).main_children[:3] == ["crisis", "follow-up", "results-title"]
    assert (
        '<h2 id="follow-up-title">What happens next</h2>\n'
        f'  <p role="status" id="contact-promise"><strong>A person from the clinic will {how}.</strong></p>\n'
        "  <p>A clinician gets in touch within one working day, to ask how you are and to talk "
        "with you about the support that fits you.</p>"
        "<p>If you are in danger now, do not wait for us: call 999 now.</p>"
    ) in html
    assert "follow-up-form" not in html and "follow-up-invitation" not in html
    assert html.count("You told us you have had thoughts of harming yourself") == 1
    stored = [r for r in gb_app.extensions["referrals"].queue() if r["name"] == name]
    assert [(r["urgent"], r["status"]) for r in stored] == [(True, "new")]
    kept = gb_app.extensions["referrals"].get(stored[0]["id"])
    assert kept["consent"] is False and kept["intake"] is None


def test_when_nobody_matches_the_page_says_what_stood_in_the_way_and_the_nearest_alternatives(
    client: FlaskClient,
) -> None:
    response = submit(
        client,
        {"difficulties": "ocd", "languages": "ko", "format": "in_person", "city": "Madrid"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    words = text(html)
    assert (
        "No therapist matched everything you asked for: of the 1 therapist who meets your earlier "
        "requirements, none see people in person within 25 km of central Madrid (city centre, not "
        "your address)."
    ) in words
    assert "Nearest alternatives" in words
    headings = re.findall(r'<h3 id="relaxed-\d">([^<]+)</h3>', html)
    # The one Korean-speaking therapist online or elsewhere (t-047) does not work with OCD or
    # practise ERP or CBT: not an alternative to offer.
    assert headings == ["Includes therapists who do not speak your preferred language"]
    assert 'id="matches-title"' in html and "meet everything you asked for" not in words


# --- the checklist page -----------------------------------------------------------------------


def test_the_checklist_page_lists_the_tailored_questions_and_a_link_without_personal_data(
    client: FlaskClient,
) -> None:
    response = client.get("/checklist?modalities=emdr,cbt&format=online&setting=group&languages=es")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    questions = re.findall(r'data-question="([^"]+)"', html)
    assert questions == [
        "self.better_at",
        "self.what_better_looks_like",
        "general.approach",
        "general.progress",
        "general.sessions",
        "general.session",
        "general.stalls",
        "general.credentials",
        "general.confidentiality",
        "general.practice",
        "general.fees",
        "general.waiting",
        "general.crisis",
        "general.changing",
        "emdr.preparation",
        "emdr.phases",
        "cbt.homework",
        "cbt.patterns",
        "cbt.parent_or_carer",
        "format.online",
        "setting.group",
        "language.sessions",
    ]
    assert (
        'value="/checklist?modalities=emdr,cbt&amp;format=online&amp;setting=group&amp;languages=es"'
        in html
    )
    assert '<link rel="stylesheet" href="/static/print.css" media="print">' in html
    assert (
        "Tailored to: EMDR, Cognitive behavioural therapy (CBT); Online (video); A group."
        in text(html)
    )
    assert "Source: How therapy sessions work" in text(html)


def test_the_checklist_form_sends_one_modality_per_box_and_still_works(client: FlaskClient) -> None:
    html = client.get("/checklist?modalities=emdr&modalities=cbt&format=any&setting=any").get_data(
        as_text=True
    )
    assert re.findall(r'data-question="(emdr|cbt)\.[a-z_]+"', html) == [
        "emdr",
        "emdr",
        "cbt",
        "cbt",
        "cbt",
    ]
    assert 'id="modality-emdr" name="modalities" value="emdr" checked' in html


def test_a_checklist_link_with_an_unknown_id_gives_the_rest_with_a_note(
    client: FlaskClient,
) -> None:
    # An old link (a kind of therapy since renamed, a garbled format): the checklist all the same.
    response = client.get("/checklist?modalities=reiki,emdr&format=zoom&languages=es")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        "This link held something we no longer know, so we left it out: kinds of therapy we do "
        "not know: reiki; format &#39;zoom&#39;: not one we know."
    ) in text(html)
    assert 'data-question="emdr.preparation"' in html
    # The languages came through the link: the language question is on it.
    assert 'data-question="language.sessions"' in html
    assert 'value="/checklist?modalities=emdr&amp;languages=es"' in html
    # Boxes to tick on screen, each labelled by its question.
    assert '<input type="checkbox" id="tick-emdr.preparation" class="tick"' in html
    assert '<label for="tick-emdr.preparation" class="question">' in html


def test_the_results_link_to_the_checklist_carries_the_languages(client: FlaskClient) -> None:
    html = submit(client, MADRID).get_data(as_text=True)
    assert "languages=es" in re.search(r'id="checklist-link" href="([^"]+)"', html).group(1)


def test_the_print_stylesheet_hides_navigation_forms_and_buttons(client: FlaskClient) -> None:
    response = client.get("/static/print.css")
    css = response.get_data(as_text=True)
    response.close()
    assert (
        ".site-header, .site-footer, .skip-link, nav, form, button, .no-print, .share, .tailor { display: none !important; }"
        in css
    )


# --- the front-desk console -------------------------------------------------------------------


def logged_in(app: Flask) -> tuple[FlaskClient, str]:
    staff = app.test_client()
    token = form_token(staff.get("/staff/login").get_data(as_text=True))
    response = staff.post(
        "/staff/login",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": token, "next": "/staff"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/staff"
    return staff, form_token(staff.get("/staff").get_data(as_text=True))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/staff"),
        ("GET", "/staff/login"),
        ("POST", "/staff/login"),
        ("GET", "/staff/therapists"),
        ("POST", "/staff"),
    ],
)
def test_staff_pages_are_closed_until_a_staff_account_exists(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 503
    assert "<h1>Staff access is not configured</h1>" in response.get_data(as_text=True)


def test_staff_pages_send_a_signed_out_person_to_the_login(gb_app: Flask) -> None:
    staff = gb_app.test_client()
    for path in ("/staff", "/staff/therapists"):
        response = staff.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/staff/login?next={path}"
    refused = staff.post("/staff", data={"difficulties": "ptsd"})
    assert refused.status_code == 401
    assert "Please log in to use the front-desk console." in refused.get_data(as_text=True)


def test_a_wrong_staff_password_is_refused(gb_app: Flask) -> None:
    staff = gb_app.test_client()
    token = form_token(staff.get("/staff/login").get_data(as_text=True))
    response = staff.post(
        "/staff/login", data={"username": USERNAME, "password": "guess", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "That name or password is not right. Please try again." in response.get_data(
        as_text=True
    )
    assert staff.get("/staff").status_code == 302


def test_a_login_without_the_form_token_is_refused(gb_app: Flask) -> None:
    response = gb_app.test_client().post(
        "/staff/login", data={"username": USERNAME, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert gb_app.test_client().get("/staff").status_code == 302


def test_the_session_cookie_is_http_only_and_same_site_lax(gb_app: Flask) -> None:
    response = gb_app.test_client().get("/staff/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_follows_next_only_inside_the_console(gb_app: Flask) -> None:
    staff = gb_app.test_client()
    token = form_token(staff.get("/staff/login?next=//evil.example/staff").get_data(as_text=True))
    response = staff.post(
        "/staff/login",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/staff",
        },
    )
    assert response.headers["Location"] == "/staff"


def test_the_console_matches_a_caller_with_reasons_to_read_aloud(gb_app: Flask) -> None:
    staff, token = logged_in(gb_app)
    posted = staff.post("/staff", data={**MADRID, "csrf_token": token, "action": "match"})
    # Post/Redirect/Get: the results come from the call's draft, so Reload sends nothing again.
    assert (posted.status_code, posted.headers["Location"]) == (303, "/staff#console-matches")
    response = staff.get("/staff")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    cards = [i.removeprefix("therapist-") for i in Page(html).ids if i.startswith("therapist-")]
    # t-005's office is nearer the centre of Madrid than t-003's: the distance points decide.
    # t-008 and t-007 practise no approach recommended for trauma or low mood and list neither:
    # weak fits, no longer matches.
    assert cards == ["t-001", "t-005", "t-003"]
    assert "Within your budget of €90: fee €80" in text(html)
    assert "About 2 km from central Madrid (city centre, not your address)" in text(html)
    assert 'id="difficulty-ptsd" name="difficulties" value="ptsd" checked' in html
    # The receptionist sees the fit in words and the points behind it, line by line.
    card = html[html.index('id="therapist-t-001"') : html.index('id="therapist-t-005"')]
    assert "Strong fit (86.72 of 100 points)" in text(card)
    assert "How the score of 86.72 out of 100 adds up" in text(card)
    bars = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td class="num">([^<]+)</td>.*?bar-fill (w-\d+)',
        card,
        re.S,
    )
    assert bars == [
        ("Recommended approach", "40 of 40", "w-100"),
        ("Experience with your difficulties", "12.5 of 25", "w-50"),
        ("Advised setting", "10 of 10", "w-100"),
        ("Fee", "5 of 5", "w-100"),
        ("Tracks progress", "5 of 5", "w-100"),
        ("Recently confirmed", "5 of 5", "w-100"),
        ("Distance", "9.22 of 10", "w-90"),
    ]


def test_the_console_explains_why_a_therapist_is_not_a_match(gb_app: Flask) -> None:
    staff, token = logged_in(gb_app)
    response = staff.post(
        "/staff",
        data={**MADRID, "csrf_token": token, "action": "why", "therapist": "t-002"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        '<p id="why-summary" class="summary not-eligible">Javier Morales Ruiz is not a match: not accepting '
        "new clients at the moment; last confirmed 112 days ago that they take new clients: the "
        "clinic must check again before anyone is matched with them; not within your budget of "
        "€90: fee €95, no sliding scale.</p>"
    ) in html
    assert '<option value="t-002" selected>' in html


def test_the_console_asks_for_a_therapist_before_explaining(gb_app: Flask) -> None:
    staff, token = logged_in(gb_app)
    response = staff.post(
        "/staff", data={**MADRID, "csrf_token": token, "action": "why", "therapist": ""}
    )
    assert (response.status_code, response.headers["Location"]) == (303, "/staff#why")
    response = staff.get("/staff")
    assert (
        'id="therapist-error"><span class="visually-hidden">Error: </span>Choose a therapist from the list.'
        in response.get_data(as_text=True)
    )


@pytest.fixture(scope="module")
def on_call_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The UK app with an on-call clinician set, and one staff account."""
    app = create_app(
        {
            "TESTING": True,
            "LOCALE": "GB",
            "SECRET_KEY": "test-key-" + "k" * 32,
            "STATE_DIR": str(tmp_path_factory.mktemp("on-call-state")),
            "RATE_LIMIT": "",
            "ON_CALL": "Dr Rivera, 020 7946 0000",
        }
    )
    app.extensions["accounts"].add(USERNAME, PASSWORD, "staff", "test")
    return app


URGENT_CALLER = {"difficulties": "depression", "self_harm_thoughts": "yes"}


def protocol_steps(html: str) -> list[str]:
    """The receptionist's steps, in order, as the console shows them."""
    steps = html[html.index('<ol class="protocol-steps">') :]
    steps = steps[: steps.index("</ol>")]
    return [text(li) for li in re.findall(r"<li[^>]*>(.*?)</li>", steps, re.S)]


def test_an_urgent_caller_gives_the_receptionist_a_protocol_with_the_on_call_clinician(
    on_call_app: Flask,
) -> None:
    staff, token = logged_in(on_call_app)
    response = staff.post("/staff", data={**URGENT_CALLER, "csrf_token": token, "action": "match"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<h2 id="protocol-title">Urgent caller: what to do now</h2>' in html
    assert protocol_steps(html) == [
        "Stay on the line. Keep your voice calm, let the caller talk, and do not end or transfer "
        "the call to look something up.",
        "Ask directly whether they are safe right now and whether they have a plan to act on "
        "these thoughts. Asking does not put the idea in their head.",
        "If they are in danger now, call 999 (or ask a colleague to) while you stay on the line "
        "with them.",
        "Reach the on-call clinician now: Dr Rivera, 020 7946 0000.",
        "Give the caller the crisis numbers below and check that they can note them down.",
        "Save the call as an urgent referral with the caller&#39;s name and a phone number or "
        "e-mail address, so that a clinician follows up.",
    ]
    numbers = html[html.index('id="protocol-numbers-title"') : html.index('id="save-urgent"')]
    assert "Emergency: 999" in text(numbers) and "Samaritans : 116 123 (24/7)" in text(numbers)
    # Words for staff, not the words shown to the person.
    assert "You told us you have had thoughts of harming yourself" not in html
    assert 'id="on-call-unset"' not in html


def test_without_an_on_call_setting_the_protocol_warns_plainly(gb_app: Flask) -> None:
    staff, token = logged_in(gb_app)
    html = staff.post(
        "/staff", data={**URGENT_CALLER, "csrf_token": token, "action": "match"}
    ).get_data(as_text=True)
    assert (
        '<li id="on-call-unset" class="warning"><strong>Warning:</strong> No on-call clinician is '
        "set for this clinic (MATCHER_ON_CALL is empty). Ask your clinical lead or manager who is "
        "on call now, and tell an administrator to set it.</li>"
    ) in html


def test_a_caller_who_is_not_urgent_gets_no_protocol_and_no_urgent_save(gb_app: Flask) -> None:
    staff, token = logged_in(gb_app)
    html = staff.post("/staff", data={**MADRID, "csrf_token": token, "action": "match"}).get_data(
        as_text=True
    )
    assert 'id="urgent-protocol"' not in html and 'id="save-urgent"' not in html


def test_the_receptionist_saves_an_urgent_caller_as_an_urgent_referral_in_one_click(
    on_call_app: Flask,
) -> None:
    staff, token = logged_in(on_call_app)
    shown = staff.post(
        "/staff", data={**URGENT_CALLER, "phq9-1": "", "csrf_token": token, "action": "match"}
    ).get_data(as_text=True)
    assert hidden_fields(shown, "save-urgent-form") == [
        ("action", "save_urgent"),
        ("difficulties", "depression"),
        ("self_harm_thoughts", "yes"),
    ]
    labels_on_page = Page(shown).label_for
    assert {"field-contact_name", "field-contact_phone", "field-contact_email"} <= labels_on_page
    data = [
        *hidden_fields(shown, "save-urgent-form"),
        ("contact_name", "Caller Example"),
        ("contact_phone", "+44 20 7946 0002"),
        ("csrf_token", token),
    ]
    response = staff.post("/staff", data=MultiDict(data))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    referrals = on_call_app.extensions["referrals"]
    stored = [r for r in referrals.queue() if r["name"] == "Caller Example"]
    assert [(r["urgent"], r["status"]) for r in stored] == [(True, "new")]
    referral_id = stored[0]["id"]
    assert (
        '<p class="notice" role="status" id="urgent-saved">Saved as an urgent referral: '
        f'<a id="urgent-referral-link" href="/staff/referrals/{referral_id}">open the referral '
        "for Caller Example</a>. A clinician sees it at the top of the queue.</p>"
    ) in html
    assert "save-urgent-form" not in html and 'id="urgent-protocol"' in html
    assert referrals.get(referral_id)["contact"] == {
        "name": "Caller Example",
        "phone": "+44 20 7946 0002",
    }
    event = on_call_app.extensions["accounts"].audit_log(1)[0]
    assert (event["actor"], event["action"], event["subject"], event["detail"]) == (
        USERNAME,
        "console.urgent_referral",
        referral_id,
        None,
    )


def test_saving_an_urgent_caller_without_a_phone_or_email_says_so_beside_the_field(
    on_call_app: Flask,
) -> None:
    staff, token = logged_in(on_call_app)
    before = on_call_app.extensions["referrals"].count()
    response = staff.post(
        "/staff",
        data={
            **URGENT_CALLER,
            "action": "save_urgent",
            "contact_name": "Nobody",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        '<p class="error-message" id="contact_email-error"><span class="visually-hidden">Error: '
        "</span>Give an email address or a phone number.</p>"
    ) in html
    assert 'id="urgent-protocol"' in html and 'value="Nobody"' in html
    assert on_call_app.extensions["referrals"].count() == before


def test_a_caller_whose_answers_have_a_mistake_still_gets_the_protocol(gb_app: Flask) -> None:
    staff, token = logged_in(gb_app)
    response = staff.post(
        "/staff", data={**URGENT_CALLER, "age": "121", "csrf_token": token, "action": "match"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="age-error"' in html and 'id="urgent-protocol"' in html
    assert protocol_steps(html)[2] == (
        "If they are in danger now, call 999 (or ask a colleague to) while you stay on the line "
        "with them."
    )


def test_a_console_form_without_its_token_does_nothing(gb_app: Flask) -> None:
    staff, _ = logged_in(gb_app)
    response = staff.post("/staff", data={**MADRID, "action": "match"})
    assert response.status_code == 400
    assert "therapist-t-001" not in response.get_data(as_text=True)


def test_the_roster_can_be_filtered_by_accepting_language_format_and_modality(
    gb_app: Flask,
) -> None:
    staff, _ = logged_in(gb_app)
    response = staff.get(
        "/staff/therapists?accepting_new_clients=true&language=es&format=in_person&modality=emdr"
    )
    html = response.get_data(as_text=True)
    assert re.findall(r'<tr id="row-([^"]+)">', html) == ["t-001", "t-012"]
    assert '<p id="roster-count" role="status">2 therapists</p>' in html
    assert staff.get("/staff/therapists?language=xx").status_code == 422


def test_logging_out_closes_the_console(gb_app: Flask) -> None:
    staff, token = logged_in(gb_app)
    response = staff.post("/staff/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/login?logged_out=1"
    assert staff.get("/staff").status_code == 302


def test_an_unset_secret_key_is_made_at_random_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("MATCHER_SECRET_KEY", raising=False)
    with caplog.at_level(logging.WARNING, logger="matcher"):
        first = create_app({"TESTING": True})
    assert re.fullmatch(r"[0-9a-f]{64}", first.config["SECRET_KEY"])
    assert "MATCHER_SECRET_KEY is not set: using a random key for this run" in caplog.text
    # Workers forked after this (gunicorn builds the app in its master first) share the key.
    assert create_app({"TESTING": True}).config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_every_problem_of_the_form_is_shown_at_once(client: FlaskClient) -> None:
    # A bad age and a missing city: both at once, not the city only after the age is fixed.
    response = submit(
        client, {"difficulties": "ptsd", "format": "in_person", "age": "abc", "max_fee": "x"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert [i for i in Page(html).ids if i.endswith("-error")] == [
        "city-error",
        "age-error",
        "max_fee-error",
    ]
    assert "<title>Error: Find a therapist · matcher</title>" in html


def test_age_and_budget_are_left_for_the_browser_to_restore_on_back(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    for name in ("age", "max_fee"):
        control = next(c for c in Page(html).controls if c.get("name") == name)
        assert "autocomplete" not in control, control


def test_the_favicon_is_served(client: FlaskClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.get_data()[:4] == b"\x00\x00\x01\x00"
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").get_data(as_text=True)


def test_a_therapist_has_a_profile_page_linked_from_their_card(client: FlaskClient) -> None:
    response = client.get("/therapists/t-004")
    assert response.status_code == 200
    words = text(response.get_data(as_text=True))
    assert "<title>" not in words
    for fact in (
        "Kinds of therapy Behavioural activation",
        "Ages 18 to 99",
        "Languages Spanish",
        "Where they work Online (video)",
        "Fee €60 per session; a sliding scale from €40 for people who cannot pay the full fee",
        "Volver a moverse: behavioural activation for low mood : Behavioural activation, online; "
        "Wednesdays 19:00-20:30, 10 weeks; for ages 18 to 99.",
    ):
        assert fact in words, fact


def test_an_unknown_therapist_is_a_page_that_says_so(client: FlaskClient) -> None:
    response = client.get("/therapists/t-999")
    assert response.status_code == 404
    assert "There is no therapist with this address" in response.get_data(as_text=True)


TRAUMA_AND_LOW_MOOD = MultiDict(
    [
        ("difficulties", "ptsd"),
        ("difficulties", "depression"),
        ("main_difficulty", "depression"),
        ("trauma_since", "under_1_month"),
        ("trauma_combat_related", "no"),
        ("format", "online"),
    ]
)
NOTE = "NG116: consider active monitoring for adults with subthreshold symptoms"


def test_the_form_asks_the_main_difficulty_and_the_trauma_details_and_the_order_follows(
    client: FlaskClient,
) -> None:
    page = client.get("/").get_data(as_text=True)
    data = MultiDict([*TRAUMA_AND_LOW_MOOD.items(multi=True), ("csrf_token", form_token(page))])
    response = client.post("/results", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = Page(html)
    modalities = [i.removeprefix("modality-") for i in page.ids if i.startswith("modality-")]
    # Low mood named as the main difficulty: NG222's first-line options lead; no EMDR within a
    # month of the trauma (NG116).
    assert modalities[:3] == ["cbt", "behavioural_activation", "tf_cbt"]
    assert "emdr" not in modalities
    words = text(html)
    assert "which you said matters most to you now" in words
    assert "checks again within a month" in words
    assert NOTE not in html  # reviewer notes are for clinicians, never on the person's page


def test_a_main_difficulty_that_was_not_picked_shows_beside_its_field(client: FlaskClient) -> None:
    response = submit(client, {"difficulties": "grief", "main_difficulty": "ocd"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "&#39;ocd&#39; is not one of the difficulties chosen (grief)." in html
    assert 'id="main_difficulty-error"' in html


def test_the_console_shows_clinician_notes_for_the_order_and_the_advice(gb_app: Flask) -> None:
    staff, token = logged_in(gb_app)
    data = MultiDict([*TRAUMA_AND_LOW_MOOD.items(multi=True), ("csrf_token", token)])
    data.add("action", "match")
    response = staff.post("/staff", data=data, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="clinician-notes"' in html
    assert NOTE in html
    assert 'value="depression" selected' in html
    assert (
        'id="trauma_since-under_1_month" name="trauma_since" value="under_1_month" checked' in html
    )
