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

from matcher.storage.referrals import ReferralConflict, ReferralError
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


def test_a_second_acknowledgement_never_replaces_the_first(app: Flask) -> None:
    referrals = app.extensions["referrals"]
    urgent = refer(app, URGENT, "Cleo")
    referrals.acknowledge(urgent, "desk", 1)
    first = referrals.get(urgent)
    with pytest.raises(ReferralError, match="^desk already acknowledged it$"):
        referrals.acknowledge(urgent, "other", 2)
    again = referrals.get(urgent)
    assert (again["acknowledged_by"], again["acknowledged_at"], again["version"]) == (
        "desk",
        first["acknowledged_at"],
        2,
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
    # Erasing asks first, naming the person; only the confirmation's button erases.
    asked = admin.post(f"/staff/referrals/{referral}/erase", data={"csrf_token": form_token(page)})
    assert asked.status_code == 200
    assert "<h1>Erase the referral of Ana?</h1>" in asked.get_data(as_text=True)
    assert app.extensions["referrals"].get(referral) is not None
    erased = admin.post(
        f"/staff/referrals/{referral}/erase",
        data={"csrf_token": form_token(page), "confirm": "erase"},
    )
    assert erased.status_code == 303
    assert app.extensions["referrals"].get(referral) is None
    events = app.extensions["accounts"].audit_log()
    assert events[0]["action"] == "referral.erased" and "Ana" not in repr(events)
    assert "The referral was erased" in admin.get(erased.headers["Location"]).get_data(as_text=True)


def test_closed_referrals_are_deleted_after_the_retention_period(app: Flask) -> None:
    from datetime import timedelta

    from matcher.storage.database import now

    referrals = app.extensions["referrals"]
    closed = refer(app, GRIEF, "Ana")
    still_open = refer(app, GRIEF, "Ben")
    referrals.change_status(closed, "closed", "desk", 1, reason="found help elsewhere")
    assert referrals.purge_closed(timedelta(days=30)) == 0
    assert referrals.purge_closed(timedelta(days=30), at=now() + timedelta(days=31)) == 1
    assert referrals.get(closed) is None and referrals.get(still_open) is not None


def submit_form(client: FlaskClient, data: dict[str, Any]) -> Any:
    page = client.get("/form").get_data(as_text=True)
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
    html = response.get_data(as_text=True)
    assert "A person from the clinic will call you." in html
    queue = app.extensions["referrals"].queue()
    assert [(r["name"], r["urgent"]) for r in queue] == [("Eli", True)]


def refer_from(app: Flask, address: str, intake: dict[str, Any], **contact: str) -> str:
    response = app.test_client().post(
        "/api/v1/referrals",
        json={"intake": intake, "contact": {**CONTACT, **contact}, "consent": True},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 201
    referral_id: str = response.get_json()["id"]
    return referral_id


def rows(html: str) -> list[str]:
    return re.findall(r'id="referral-([0-9a-f]{32})"', html)


def test_a_flood_of_near_identical_urgent_referrals_from_one_source_is_one_row_never_dropped(
    app: Flask,
) -> None:
    ordinary = refer(app, GRIEF, "Ana")
    flood = [
        refer_from(app, "198.51.100.66", URGENT, name=f"Fake {n}", email=f"fake{n}@example.org")
        for n in range(30)
    ]
    someone_else = refer_from(app, "192.0.2.8", URGENT, name="Cleo", email="cleo@example.org")
    assert app.extensions["referrals"].count() == 32
    client = desk(app)
    html = client.get("/staff/referrals").get_data(as_text=True)
    assert rows(html) == [flood[0], someone_else, ordinary]
    assert (
        f'<a class="similar" href="/staff/referrals?group={flood[0]}">'
        "and 29 similar from the same source</a>"
    ) in html
    assert "31 urgent referrals not yet acknowledged" in html
    group = client.get(f"/staff/referrals?group={flood[0]}").get_data(as_text=True)
    assert sorted(rows(group)) == sorted(flood)
    assert "One group: 30 near-identical urgent referrals from the same source" in group
    member = client.get(f"/staff/referrals/{flood[7]}").get_data(as_text=True)
    assert "One of 30 near-identical urgent referrals from the same source." in member


def test_urgent_referrals_with_different_answers_or_contacts_from_one_source_are_not_grouped(
    app: Flask,
) -> None:
    first = refer_from(app, "198.51.100.66", URGENT, name="Dee", email="dee@example.org")
    other_answers = {**URGENT, "difficulties": ["anxiety"]}
    second = refer_from(app, "198.51.100.66", other_answers, name="Eve", email="eve@example.org")
    html = desk(app).get("/staff/referrals").get_data(as_text=True)
    assert sorted(rows(html)) == sorted([first, second])
    assert "similar from the same source" not in html


def past_deadline(app: Flask, referral_id: str) -> None:
    """Move an urgent referral's acknowledgement deadline a minute into the past."""
    with app.extensions["referrals"].engine.begin() as connection:
        connection.execute(
            text("UPDATE referrals SET ack_deadline = created_at WHERE id = :id"),
            {"id": referral_id},
        )


def test_the_queue_puts_overdue_urgent_first_and_says_overdue_in_words(app: Flask) -> None:
    oldest = refer(app, GRIEF, "Ana")
    on_time = refer_from(app, "192.0.2.1", URGENT, name="Ben", email="ben@example.org")
    late = refer_from(app, "192.0.2.2", URGENT, name="Cleo", email="cleo@example.org")
    past_deadline(app, late)
    html = desk(app).get("/staff/referrals").get_data(as_text=True)
    assert rows(html) == [late, on_time, oldest]
    assert "2 urgent referrals not yet acknowledged</strong>, <strong>1 OVERDUE</strong>" in html
    late_row = html.split(f'id="referral-{late}"')[1].split("</tr>")[0]
    assert "<strong>OVERDUE</strong> URGENT" in late_row and "(overdue)" in late_row
    on_time_row = html.split(f'id="referral-{on_time}"')[1].split("</tr>")[0]
    assert "OVERDUE" not in on_time_row and "(overdue)" not in on_time_row
    page = desk(app).get(f"/staff/referrals/{late}").get_data(as_text=True)
    assert "<strong>OVERDUE</strong> by 0 min" in page


def test_the_queue_shows_50_a_page_with_page_links_and_the_urgent_counts_on_every_page(
    app: Flask,
) -> None:
    matcher = app.extensions["matcher"]
    referrals = app.extensions["referrals"]
    grief = matcher.match(GRIEF)
    for n in range(118):
        referrals.store(GRIEF, grief, {**CONTACT, "name": f"P{n}"}, True, None)
    urgent = refer(app, URGENT, "Cleo")
    past_deadline(app, urgent)
    client = desk(app)
    first = client.get("/staff/referrals").get_data(as_text=True)
    assert len(rows(first)) == 50 and rows(first)[0] == urgent
    assert "119 rows" in first and "Page 1 of 3." in first
    assert '<a href="/staff/referrals?page=2" rel="next">Next</a>' in first
    third = client.get("/staff/referrals?page=3").get_data(as_text=True)
    assert len(rows(third)) == 19 and urgent not in rows(third)
    assert "1 urgent referral not yet acknowledged</strong>, <strong>1 OVERDUE</strong>" in third
    assert '<a href="/staff/referrals?page=3" aria-current="page"><strong>3</strong></a>' in third
    filtered = client.get("/staff/referrals?status=new&page=2").get_data(as_text=True)
    assert '<a href="/staff/referrals?status=new&amp;page=1" rel="prev">Previous</a>' in filtered
    pages = [client.get(f"/staff/referrals?page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    assert len({r for page in pages for r in rows(page)}) == 119
    beyond = client.get("/staff/referrals?page=9").get_data(as_text=True)
    assert rows(beyond) == rows(third) and "Page 3 of 3." in beyond


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "page must be a whole number from 1 to 999999, not &#39;0&#39;."),
        ("page=two", "page must be a whole number from 1 to 999999, not &#39;two&#39;."),
        (
            "page=" + "9" * 5000,
            "page must be a whole number from 1 to 999999, not &#39;99999999999999999999&#39;.",
        ),
        ("group=../x", "group must be a referral id (32 hexadecimal characters)."),
    ],
)
def test_a_queue_address_that_makes_no_sense_is_a_400_naming_the_parameter(
    app: Flask, query: str, message: str
) -> None:
    response = desk(app).get(f"/staff/referrals?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_the_sender_purges_expired_referrals_hourly_not_only_at_start(app: Flask) -> None:
    from datetime import timedelta

    from matcher.storage.database import now

    referrals, notifier = app.extensions["referrals"], app.extensions["notifier"]
    closed = refer(app, GRIEF, "Ana")
    referrals.change_status(closed, "closed", "desk", 1, reason="found help elsewhere")
    expires = now() + timedelta(days=365)  # MATCHER_RETENTION_DAYS' default
    notifier.run_once(now=expires - timedelta(minutes=10))  # not yet past the retention period
    assert referrals.get(closed) is not None
    notifier.run_once(now=expires + timedelta(minutes=10))  # past it, within the hour
    assert referrals.get(closed) is not None
    notifier.run_once(now=expires + timedelta(minutes=51))  # an hour after the last purge
    assert referrals.get(closed) is None
