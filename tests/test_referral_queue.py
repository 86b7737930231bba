"""Front-desk staff work the referral queue: urgent first, statuses with who and when, no lost edits."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from matcher.referrals import ReferralConflict, ReferralError
from tests.databases import app_on, close_database
from tests.forms import form_token

PASSWORD = "correct horse battery"
CONTACT = {"name": "Sam", "email": "sam@example.org"}
GRIEF = {"difficulties": ["grief"], "preferences": {"format": "online"}}
URGENT = {"difficulties": ["depression"], "risk": {"self_harm_thoughts": True}}


@pytest.fixture()
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = app_on(database_url, tmp_path, SECRET_KEY="k" * 32)
    app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
    yield app
    close_database(app)


def refer(app: Flask, intake: dict[str, Any], name: str) -> str:
    response = app.test_client().post(
        "/api/v1/referrals",
        json={"intake": intake, "contact": {**CONTACT, "name": name}, "consent": True},
    )
    assert response.status_code == 201
    referral_id: str = response.get_json()["id"]
    return referral_id


def desk(app: Flask, username: str = "desk") -> FlaskClient:
    """A browser session logged in to the console as `username`."""
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    client.post(
        "/staff/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": form_token(page),
            "next": "/staff",
        },
    )
    return client


def test_the_queue_lists_urgent_first_then_oldest_first(app: Flask) -> None:
    first = refer(app, GRIEF, "Ana")
    second = refer(app, GRIEF, "Ben")
    urgent = refer(app, URGENT, "Cleo")
    html = desk(app).get("/staff/referrals").get_data(as_text=True)
    order = re.findall(r'id="referral-([0-9a-f]{32})"', html)
    assert order == [urgent, first, second]
    assert "URGENT" in html and "not yet" in html


def test_an_urgent_referral_needs_acknowledging_before_it_moves_on(app: Flask) -> None:
    referrals = app.extensions["referrals"]
    urgent = refer(app, URGENT, "Cleo")
    with pytest.raises(ReferralError, match="must be acknowledged first"):
        referrals.change_status(urgent, "contacted", "desk", 1)
    referrals.acknowledge(urgent, "desk", 1)
    referrals.change_status(urgent, "contacted", "desk", 2)
    stored = referrals.get(urgent)
    assert (stored["status"], stored["acknowledged_by"], stored["changed_by"]) == (
        "contacted",
        "desk",
        "desk",
    )


def test_a_referral_is_worked_to_booked_through_the_console(app: Flask) -> None:
    referral = refer(app, GRIEF, "Ana")
    client = desk(app)
    page = client.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    post = {"csrf_token": form_token(page), "action": "status"}
    assert (
        client.post(
            f"/staff/referrals/{referral}", data={**post, "status": "contacted", "version": "1"}
        ).status_code
        == 303
    )
    missing = client.post(
        f"/staff/referrals/{referral}", data={**post, "status": "booked", "version": "2"}
    )
    assert missing.status_code == 422
    assert "Say which therapist it is booked with." in missing.get_data(as_text=True)
    booked = client.post(
        f"/staff/referrals/{referral}",
        data={**post, "status": "booked", "therapist": "t-045", "version": "2"},
    )
    assert booked.status_code == 303
    stored = app.extensions["referrals"].get(referral)
    assert (stored["status"], stored["therapist_id"], stored["changed_by"]) == (
        "booked",
        "t-045",
        "desk",
    )
    booked_list = desk(app).get("/staff/referrals?status=booked&therapist=t-045")
    assert referral in booked_list.get_data(as_text=True)
    actions = [e["action"] for e in app.extensions["accounts"].audit_log()]
    assert "referral.booked" in actions and "referral.contacted" in actions


def test_two_staff_changing_one_referral_at_once_the_second_is_told(app: Flask) -> None:
    referral = refer(app, GRIEF, "Ana")
    referrals = app.extensions["referrals"]
    referrals.change_status(referral, "contacted", "first", 1)
    with pytest.raises(ReferralConflict, match="someone else changed this referral"):
        referrals.change_status(referral, "closed", "second", 1, reason="no answer")
    assert referrals.get(referral)["status"] == "contacted"
    client = desk(app)
    page = client.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    stale = client.post(
        f"/staff/referrals/{referral}",
        data={
            "csrf_token": form_token(page),
            "action": "status",
            "status": "closed",
            "reason": "x",
            "version": "1",
        },
    )
    assert stale.status_code == 409
    assert "Someone else changed this referral since you opened it" in stale.get_data(as_text=True)


def test_a_save_made_while_another_is_being_written_waits_for_it_and_is_told(app: Flask) -> None:
    # The first receptionist's save is held mid-write; the second, on the same referral, must
    # wait for it (the row lock, or SQLite's write lock) and then learn it came second.
    referral = refer(app, GRIEF, "Ana")
    referrals = app.extensions["referrals"]
    first_is_writing, release_first = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def hold_the_first(session: Session, *_: Any) -> None:
        if threading.current_thread().name == "first":
            first_is_writing.set()
            release_first.wait(10)

    def save(status: str, reason: str | None = None) -> None:
        name = threading.current_thread().name
        try:
            referrals.change_status(referral, status, name, 1, reason=reason)
            outcomes[name] = "saved"
        except ReferralConflict:
            outcomes[name] = "told"

    first = threading.Thread(target=save, args=("contacted",), name="first")
    second = threading.Thread(target=save, args=("closed", "no answer"), name="second")
    event.listen(Session, "before_flush", hold_the_first)
    try:
        first.start()
        assert first_is_writing.wait(10)
        second.start()
        second.join(0.5)
        assert second.is_alive(), "the second save did not wait for the first"
        release_first.set()
        first.join(10)
        second.join(20)
    finally:
        release_first.set()
        event.remove(Session, "before_flush", hold_the_first)
    assert outcomes == {"first": "saved", "second": "told"}
    stored = referrals.get(referral)
    assert (stored["status"], stored["changed_by"], stored["version"]) == ("contacted", "first", 2)


def test_a_change_that_slips_past_the_lock_is_still_refused_by_the_version_check(
    app: Flask,
) -> None:
    # Belt and braces: were the row lock ever missing (another database, another isolation
    # level), the UPDATE itself carries the version that was read, so a change made in between
    # is refused, not overwritten.
    referral = refer(app, GRIEF, "Ana")
    sneaked: list[bool] = []

    def another_change_in_between(session: Session, *_: Any) -> None:
        if not sneaked:
            sneaked.append(True)
            session.connection().execute(
                text(
                    "UPDATE referrals SET version = version + 1, changed_by = 'other' WHERE id = :id"
                ),
                {"id": referral},
            )

    event.listen(Session, "before_flush", another_change_in_between)
    try:
        with pytest.raises(ReferralConflict, match="someone else changed this referral"):
            app.extensions["referrals"].change_status(referral, "contacted", "desk", 1)
    finally:
        event.remove(Session, "before_flush", another_change_in_between)
    stored = app.extensions["referrals"].get(referral)
    assert (stored["status"], stored["changed_by"], stored["version"]) == ("new", None, 1)


def test_closing_needs_a_reason_and_nothing_moves_after_closed(app: Flask) -> None:
    referral = refer(app, GRIEF, "Ana")
    referrals = app.extensions["referrals"]
    with pytest.raises(ReferralError, match="say why it is closed"):
        referrals.change_status(referral, "closed", "desk", 1, reason=" ")
    referrals.change_status(referral, "closed", "desk", 1, reason="found help elsewhere")
    with pytest.raises(ReferralError, match="a closed referral cannot become contacted"):
        referrals.change_status(referral, "contacted", "desk", 2)


def test_staff_can_match_a_referral_again_with_todays_rules(app: Flask) -> None:
    referral = refer(app, GRIEF, "Ana")
    client = desk(app)
    page = client.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    again = client.post(
        f"/staff/referrals/{referral}",
        data={"csrf_token": form_token(page), "action": "rematch", "version": "1"},
    )
    html = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "Matched again with today's rules and roster" in html
    assert "The same therapists as when they applied." in html


def test_the_queue_needs_a_staff_login(app: Flask) -> None:
    response = app.test_client().get("/staff/referrals")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_a_persons_data_can_be_exported_and_erased_on_request(app: Flask) -> None:
    referral = refer(app, GRIEF, "Ana")
    client = desk(app)
    exported = client.get(f"/staff/referrals/{referral}/export")
    assert exported.status_code == 200
    assert (
        exported.headers["Content-Disposition"]
        == f'attachment; filename="referral-{referral}.json"'
    )
    data = exported.get_json()
    assert data["contact"]["name"] == "Ana" and data["intake"] == GRIEF
    page = client.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    # erasing is for admins
    assert (
        client.post(
            f"/staff/referrals/{referral}/erase", data={"csrf_token": form_token(page)}
        ).status_code
        == 403
    )
    app.extensions["accounts"].add("boss", PASSWORD, "admin", "test")
    admin = desk(app, "boss")
    page = admin.get(f"/staff/referrals/{referral}").get_data(as_text=True)
    erased = admin.post(f"/staff/referrals/{referral}/erase", data={"csrf_token": form_token(page)})
    assert erased.status_code == 303
    assert app.extensions["referrals"].get(referral) is None
    events = app.extensions["accounts"].audit_log()
    assert events[0]["action"] == "referral.erased" and "Ana" not in repr(events)


def test_closed_referrals_are_deleted_after_the_retention_period(app: Flask) -> None:
    from datetime import timedelta

    from matcher.store import now

    referrals = app.extensions["referrals"]
    closed = refer(app, GRIEF, "Ana")
    still_open = refer(app, GRIEF, "Ben")
    referrals.change_status(closed, "closed", "desk", 1, reason="found help elsewhere")
    assert referrals.purge_closed(timedelta(days=30)) == 0
    assert referrals.purge_closed(timedelta(days=30), at=now() + timedelta(days=31)) == 1
    assert referrals.get(closed) is None and referrals.get(still_open) is not None


def submit_form(client: FlaskClient, data: dict[str, Any]) -> Any:
    page = client.get("/").get_data(as_text=True)
    return client.post("/results", data={**data, "csrf_token": form_token(page)})


def test_a_person_who_asks_to_be_contacted_on_the_form_lands_in_the_queue(app: Flask) -> None:
    person = app.test_client()
    response = submit_form(
        person,
        {
            "difficulties": "grief",
            "contact_name": "Dana",
            "contact_email": "dana@example.org",
            "consent": "yes",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Thank you. Someone from the clinic will contact you by email." in html
    queue = desk(app).get("/staff/referrals").get_data(as_text=True)
    assert ">Dana</a>" in queue


def test_the_form_asks_for_consent_and_keeps_the_answers(app: Flask) -> None:
    response = submit_form(
        app.test_client(),
        {"difficulties": "grief", "contact_name": "Dana", "contact_email": "dana@example.org"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Needed to keep your request: without it nothing is stored." in html
    assert 'value="dana@example.org"' in html
    assert app.extensions["referrals"].count() == 0


def test_an_urgent_form_with_a_way_to_reach_the_person_is_kept_without_the_tick(app: Flask) -> None:
    response = submit_form(
        app.test_client(),
        {
            "difficulties": "depression",
            "self_harm_thoughts": "yes",
            "contact_name": "Eli",
            "contact_phone": "+44 20 7946 0000",
        },
    )
    assert response.status_code == 200
    assert "A person from the clinic will be in touch with you as soon as they can." in (
        response.get_data(as_text=True)
    )
    queue = app.extensions["referrals"].queue()
    assert [(r["name"], r["urgent"]) for r in queue] == [("Eli", True)]
