"""The front desk: a call in one screen, the referral page and queue, the roster."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.storage.referrals import MAX_NOTE_LENGTH
from matcher.web import create_app
from tests.forms import form_token, staff_logged_in

PASSWORD = "front desk password 16"
MADRID = {
    "difficulties": ["ptsd"],
    "languages": ["es"],
    "format": "in_person",
    "city": "Madrid",
    "max_fee": "90",
}


@pytest.fixture()
def clinic(tmp_path: Path) -> Flask:
    """The app for a London clinic, with two receptionists and an admin."""
    app = create_app(
        {
            "TESTING": True,
            "LOCALE": "GB",
            "RATE_LIMIT": "",
            "LOGIN_RATE_LIMIT": "",
            "STATE_DIR": str(tmp_path),
            "SECRET_KEY": "front-desk-" + "k" * 32,
            "CLINIC_TIMEZONE": "Europe/London",
        }
    )
    for name, role in (("desk", "staff"), ("other", "staff"), ("boss", "admin")):
        app.extensions["accounts"].add(name, PASSWORD, role, "test")
    return app


def desk(app: Flask, name: str = "desk") -> tuple[FlaskClient, str]:
    """A receptionist logged in, and the console's form token."""
    client = staff_logged_in(app, name, PASSWORD)
    return client, form_token(client.get("/staff").get_data(as_text=True))


def text(html: str) -> str:
    """The page's words, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_console_speaks_to_the_receptionist(clinic: Flask) -> None:
    client, _ = desk(clinic)
    html = client.get("/staff").get_data(as_text=True).replace("&#39;", "'")
    for label in ("Caller's age", "Caller's city", "What would the caller like help with?"):
        assert label in html, label
    assert 'accesskey="m" id="find-matches" data-shortcut="m">Find matches</button>' in html


def test_the_callers_answers_survive_the_roster_and_why_not(clinic: Flask) -> None:
    client, token = desk(clinic)
    client.post("/staff", data={**MADRID, "csrf_token": token, "action": "match"})
    # Mid-call to the roster and back: the answers and the matches are still there.
    assert client.get("/staff/therapists").status_code == 200
    back = client.get("/staff").get_data(as_text=True)
    assert 'id="difficulty-ptsd" name="difficulties" value="ptsd" checked' in back
    assert 'name="city" value="Madrid"' in back
    assert 'id="therapist-t-001"' in back
    # "Why not" opens beside the list: both are on the page.
    why = client.post(
        "/staff",
        data={**MADRID, "csrf_token": token, "action": "why", "therapist": "t-002"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert 'class="console-columns with-why"' in why
    assert 'id="why-summary"' in why and 'id="therapist-t-001"' in why
    # A new call starts empty.
    client.post("/staff/new-call", data={"csrf_token": token})
    assert 'name="city" value=""' in client.get("/staff").get_data(as_text=True)


def test_a_kept_call_with_risk_answers_brings_the_urgent_protocol_back(clinic: Flask) -> None:
    client, token = desk(clinic)
    client.post(
        "/staff",
        data={"difficulties": "grief", "self_harm_thoughts": "yes", "csrf_token": token},
    )
    back = client.get("/staff")
    html = back.get_data(as_text=True)
    assert "X-Safety-Event-Id" in back.headers
    assert html.index('id="urgent-protocol"') < html.index('id="caller-title"')


def test_the_read_aloud_list_is_compact_with_fit_in_words(clinic: Flask) -> None:
    client, token = desk(clinic)
    html = client.post(
        "/staff", data={**MADRID, "csrf_token": token, "action": "match"}, follow_redirects=True
    ).get_data(as_text=True)
    card = html[html.index('id="therapist-t-001"') :]
    card = card[: card.index("</article>")]
    assert re.search(r"Strong fit \(\d+(\.\d+)? of \d+ points\)", text(card))
    assert len(re.findall(r"<li>", card[: card.index("<details")])) == 2  # two reasons
    assert "Times: weekday mornings, weekday evenings" in text(card)


def save(client: FlaskClient, token: str, **fields: str) -> Any:
    return client.post(
        "/staff", data={**MADRID, "csrf_token": token, "action": "save_referral", **fields}
    )


def test_a_call_is_saved_as_a_referral_with_consent_as_said_and_who_took_it(
    clinic: Flask,
) -> None:
    client, token = desk(clinic)
    refused = save(client, token, contact_name="Ana")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    # Every problem at once: the consent and the missing way to reach the caller.
    assert "Ask the caller whether the clinic may keep their answers" in html
    assert "Give an email address or a phone number." in html
    assert clinic.extensions["referrals"].count() == 0
    saved = save(
        client,
        token,
        contact_name="Ana",
        contact_phone="020 7946 0001",
        consent="yes",
        consent_words="Yes, keep it and ring me back",
    )
    assert (saved.status_code, saved.headers["Location"]) == (303, "/staff#referral-saved")
    html = client.get("/staff").get_data(as_text=True)
    [row] = clinic.extensions["referrals"].queue()
    assert f'href="/staff/referrals/{row["id"]}"' in html
    assert f"reference <strong>{row['reference']}</strong>" in html
    stored = clinic.extensions["referrals"].get(row["id"])
    assert (stored["taken_by"], stored["consent_words"], stored["consent"]) == (
        "desk",
        "Yes, keep it and ring me back",
        True,
    )


def referral_for(clinic: Flask, name: str = "Ana Ruiz") -> str:
    client, token = desk(clinic)
    save(
        client,
        token,
        contact_name=name,
        contact_phone="020 7946 0001",
        contact_email="ana@example.org",
        consent="yes",
    )
    return str(clinic.extensions["referrals"].queue()[-1]["id"])


def test_the_referral_page_says_what_they_asked_for_and_who_was_offered(clinic: Flask) -> None:
    referral = referral_for(clinic)
    client, _ = desk(clinic)
    html = client.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    words = text(html)
    assert "Help with After a traumatic event (PTSD)" in words
    assert "City Madrid" in words and "Most they can pay €90" in words
    assert '<a href="tel:02079460001">020 7946 0001</a>' in html
    assert '<a href="mailto:ana@example.org">ana@example.org</a>' in html
    # Times in the clinic's time zone, never UTC.
    assert "UTC" not in words and re.search(r"\d{2}:\d{2} (GMT|BST)", words)
    # "Booked with" lists the therapists they were offered first.
    offered = re.search(r'<optgroup label="Offered to them">(.*?)</optgroup>', html, re.S)
    assert offered and 'value="t-001"' in offered.group(1)
    assert "Phone call taken by desk" in words


def test_notes_and_assign_to_me_are_kept_with_who_and_when(clinic: Flask) -> None:
    referral = referral_for(clinic)
    client, _ = desk(clinic)
    page = client.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    token = form_token(page)
    noted = client.post(
        f"/staff/referrals/{referral}",
        data={"csrf_token": token, "action": "note", "version": "1", "note": "Rang, no answer"},
    )
    assert noted.status_code == 303
    assigned = client.post(
        f"/staff/referrals/{referral}",
        data={"csrf_token": token, "action": "assign", "version": "1"},
    )
    assert assigned.status_code == 303
    html = client.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    assert re.search(r"<strong>desk</strong>, [^:]+:\d{2} (GMT|BST): Rang, no answer", html)
    assert '<dd id="assigned-to">desk</dd>' in html
    queue = client.get("/staff/referrals").get_data(as_text=True)
    assert "desk (you)" in queue


def test_a_clash_keeps_what_the_second_person_typed_and_says_what_changed(
    clinic: Flask,
) -> None:
    referral = referral_for(clinic)
    first, _ = desk(clinic)
    second, _ = desk(clinic, "other")
    token_first = form_token(first.get(f"/staff/referrals/{referral}").get_data(as_text=True))
    token_second = form_token(second.get(f"/staff/referrals/{referral}").get_data(as_text=True))
    first.post(
        f"/staff/referrals/{referral}",
        data={"csrf_token": token_first, "action": "status", "status": "contacted", "version": "1"},
    )
    clash = second.post(
        f"/staff/referrals/{referral}",
        data={
            "csrf_token": token_second,
            "action": "status",
            "status": "closed",
            "reason": "Found help elsewhere",
            "version": "1",
        },
    )
    assert clash.status_code == 409
    html = clash.get_data(as_text=True)
    assert "It is now contacted, changed by desk." in html
    assert 'name="reason" maxlength="200" value="Found help elsewhere"' in html


def test_the_queue_is_searched_by_name_phone_or_reference(clinic: Flask) -> None:
    ana = referral_for(clinic, "Ana Ruiz")
    ben = referral_for(clinic, "Ben Okafor")
    client, _ = desk(clinic)

    def found(query: str) -> list[str]:
        html = client.get(f"/staff/referrals?q={query}").get_data(as_text=True)
        return re.findall(r'id="referral-([0-9a-f]{32})"', html)

    assert found("ruiz") == [ana]
    assert found("okafor") == [ben]
    reference = clinic.extensions["referrals"].queue()[0]["reference"]
    assert found(reference) == [clinic.extensions["referrals"].queue()[0]["id"]]
    assert sorted(found("7946")) == sorted([ana, ben])
    assert "No referral matches" in client.get("/staff/referrals?q=nobody").get_data(as_text=True)


def test_erasing_asks_first_naming_the_person(clinic: Flask) -> None:
    referral = referral_for(clinic)
    admin = staff_logged_in(clinic, "boss", PASSWORD)
    page = admin.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    assert f'href="/staff/referrals/{referral}/erase" id="erase-link"' in page
    assert 'action="/staff/referrals/' + referral + '/erase"' not in page  # no one-click erase
    confirm = admin.get(f"/staff/referrals/{referral}/erase").get_data(as_text=True)
    assert "<h1>Erase the referral of Ana Ruiz?</h1>" in confirm
    assert "Yes, erase Ana Ruiz's referral" in confirm
    assert clinic.extensions["referrals"].get(referral) is not None


def test_the_roster_is_searched_and_filtered_with_profiles(clinic: Flask) -> None:
    client, _ = desk(clinic)

    def rows(query: str) -> list[str]:
        html = client.get(f"/staff/therapists?{query}").get_data(as_text=True)
        return re.findall(r'<tr id="row-([a-z0-9-]+)"', html)

    assert rows("q=lucia") == ["t-001", "t-014"]  # accents and case folded
    assert rows("q=Fernández Ortega") == ["t-001"]
    madrid = rows("city=Madrid")
    assert madrid and all(int(t.split("-")[1]) <= 10 for t in madrid)
    ocd = rows("difficulty=ocd")
    assert ocd and len(ocd) < len(rows(""))
    html = client.get("/staff/therapists?q=lucia").get_data(as_text=True)
    assert '<a href="/therapists/t-001" id="profile-link-t-001">' in html


def test_find_matches_redirects_to_the_calls_results_so_reload_sends_nothing_again(
    clinic: Flask,
) -> None:
    client, token = desk(clinic)
    posted = client.post("/staff", data={**MADRID, "csrf_token": token, "action": "match"})
    assert (posted.status_code, posted.headers["Location"]) == (303, "/staff#console-matches")
    # Reload (or Back) asks for the page again: the same answers and matches, from the draft.
    for _ in range(2):
        html = client.get("/staff").get_data(as_text=True)
        assert 'id="therapist-t-001"' in html
        assert 'name="city" value="Madrid"' in html
    audited = [e["action"] for e in clinic.extensions["accounts"].audit_log()]
    assert audited.count("console.match") == 1  # the search was made once


def test_answers_to_correct_come_back_after_the_redirect_every_error_at_once(
    clinic: Flask,
) -> None:
    client, token = desk(clinic)
    wrong = {"format": "in_person", "age": "abc", "max_fee": "x", "difficulties": "ptsd"}
    posted = client.post("/staff", data={**wrong, "csrf_token": token, "action": "match"})
    assert posted.status_code == 303
    html = client.get("/staff").get_data(as_text=True)
    for field in ("city", "age", "max_fee"):
        assert f'id="{field}-error"' in html, field
    assert 'name="age" value="abc"' in html and 'name="max_fee" value="x"' in html


def test_a_refused_save_keeps_the_contact_on_the_page_never_in_the_draft(clinic: Flask) -> None:
    client, token = desk(clinic)
    refused = save(client, token, contact_name="Ana Ruiz", contact_phone="020 7946 0001")
    assert refused.status_code == 422  # the consent is missing: said at once, not redirected
    html = refused.get_data(as_text=True)
    assert 'name="contact_name" value="Ana Ruiz"' in html
    with client.session_transaction() as state:
        call = clinic.extensions["drafts"].load(f"call:{state['call_draft']}")
    assert ("city", "Madrid") in call
    assert [name for name, _ in call if name.startswith("contact_")] == []


def note_on(clinic: Flask, client: FlaskClient, referral: str, text: str) -> int:
    """Write a note on a referral as `client`; the note's id."""
    token = form_token(client.get(f"/staff/referrals/{referral}").get_data(as_text=True))
    data = {"csrf_token": token, "action": "note", "version": "1", "note": text}
    assert client.post(f"/staff/referrals/{referral}", data=data).status_code == 303
    return int(clinic.extensions["referrals"].get(referral)["notes"][-1]["id"])


def correct(client: FlaskClient, referral: str, note: int, text: str) -> Any:
    token = form_token(client.get(f"/staff/referrals/{referral}").get_data(as_text=True))
    data = {"csrf_token": token, "action": "correct_note", "version": "1", "note_id": str(note)}
    return client.post(f"/staff/referrals/{referral}", data={**data, "note": text})


def test_a_note_is_corrected_by_its_author_with_the_original_in_the_audit_log(
    clinic: Flask,
) -> None:
    referral = referral_for(clinic)
    client, _ = desk(clinic)
    note = note_on(clinic, client, referral, "Rang, no asnwer")
    written = clinic.extensions["referrals"].get(referral)["notes"][0]["at"]
    assert correct(client, referral, note, "Rang, no answer").status_code == 303
    [kept] = clinic.extensions["referrals"].get(referral)["notes"]
    assert (kept["by"], kept["at"], kept["text"]) == ("desk", written, "Rang, no answer")
    assert kept["corrected_at"] is not None and kept["corrected_at"] >= written
    html = text(client.get(f"/staff/referrals/{referral}").get_data(as_text=True))
    assert re.search(r"Rang, no answer \(corrected [^)]+:\d{2} (GMT|BST)\)", html)
    [event] = [
        e
        for e in clinic.extensions["accounts"].audit_log()
        if e["action"] == "referral.note_corrected"
    ]
    assert (event["actor"], event["subject"], event["detail"]) == (
        "desk",
        referral,
        {"note": note, "before": "Rang, no asnwer"},
    )


def test_the_note_boxes_take_as_much_as_a_note_may_hold_and_no_more(clinic: Flask) -> None:
    referral = referral_for(clinic)
    client, _ = desk(clinic)
    note = note_on(clinic, client, referral, "x" * MAX_NOTE_LENGTH)
    html = client.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    boxes = re.findall(r'<textarea id="([a-z0-9-]+)" name="note" rows="2" maxlength="(\d+)"', html)
    assert boxes == [(f"correct-note-{note}", str(MAX_NOTE_LENGTH)), ("note", str(MAX_NOTE_LENGTH))]
    assert correct(client, referral, note, "y" * (MAX_NOTE_LENGTH + 1)).status_code == 422
    assert clinic.extensions["referrals"].get(referral)["notes"][0]["text"] == "x" * MAX_NOTE_LENGTH


def test_only_the_author_can_correct_a_note(clinic: Flask) -> None:
    referral = referral_for(clinic)
    author, _ = desk(clinic)
    note = note_on(clinic, author, referral, "Left a message")
    other, _ = desk(clinic, "other")
    page = other.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    assert "Correct this note" not in page
    refused = correct(other, referral, note, "Something else")
    assert refused.status_code == 422
    assert "Only desk, who wrote the note, can correct it." in text(refused.get_data(as_text=True))
    assert clinic.extensions["referrals"].get(referral)["notes"][0]["text"] == "Left a message"
    assert correct(author, referral, note + 1000, "x").status_code == 422  # no such note
    assert correct(author, referral, note, "   ").status_code == 422  # an empty correction


def test_erasing_a_referral_takes_the_text_before_a_correction_out_of_the_audit_log(
    clinic: Flask,
) -> None:
    referral = referral_for(clinic)
    client, _ = desk(clinic)
    note = note_on(clinic, client, referral, "Said she is at 12 Hill Road")
    correct(client, referral, note, "Rang, spoke to her")
    admin = staff_logged_in(clinic, "boss", PASSWORD)
    token = form_token(admin.get(f"/staff/referrals/{referral}/erase").get_data(as_text=True))
    erased = admin.post(
        f"/staff/referrals/{referral}/erase", data={"csrf_token": token, "confirm": "erase"}
    )
    assert erased.status_code == 303
    events = clinic.extensions["accounts"].audit_log()
    [corrected] = [e for e in events if e["action"] == "referral.note_corrected"]
    assert corrected["detail"] is None  # only that it happened, by whom and when
    assert "12 Hill Road" not in repr(events)


def test_consent_taken_without_words_reads_in_the_pages_language(clinic: Flask) -> None:
    referral = referral_for(clinic)
    client, _ = desk(clinic)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    html = text(client.get(f"/staff/referrals/{referral}").get_data(as_text=True))
    assert "La persona que llama aceptó por teléfono." in html
    # A call's language is the receptionist's page, not the caller's: it is not shown as theirs.
    assert "Su idioma" not in html
