"""Staff sessions can be taken back: a copied cookie stops working when the account changes.

The attacker holds a copy of a receptionist's session cookie (a shared computer, a stolen
laptop, a proxy log). It must stop working at logout, a new password, a new role, removal
(and re-adding the same name), after 30 idle minutes and 12 hours after the login.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.web import staff
from tests.databases import app_on, close_database
from tests.forms import form_token, staff_logged_in

PASSWORD = "correct horse battery"
START = 1_800_000_000


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The time staff sessions see, in seconds: tests move it on by hand."""
    now = [START]
    monkeypatch.setattr(staff, "epoch_seconds", lambda: now[0])
    return now


@pytest.fixture()
def app(tmp_path: Path, database_url: str, clock: list[int]) -> Iterator[Flask]:
    app = app_on(database_url, tmp_path, SECRET_KEY="s" * 32)
    app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
    app.extensions["accounts"].add("boss", PASSWORD, "admin", "test")
    yield app
    close_database(app)


def log_in(app: Flask, username: str) -> FlaskClient:
    return staff_logged_in(app, username, PASSWORD)


def stolen_copy(app: Flask, victim: FlaskClient) -> FlaskClient:
    """Another browser holding the same session cookie as `victim`."""
    cookie = victim.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/staff/referrals")
    if response.status_code == 302:
        assert response.headers["Location"] == "/staff/login?next=/staff/referrals"
        return False
    assert response.status_code == 200
    return True


def test_a_copied_cookie_stops_working_at_logout(app: Flask) -> None:
    desk = log_in(app, "desk")
    thief = stolen_copy(app, desk)
    assert signed_in(thief)
    token = form_token(desk.get("/staff").get_data(as_text=True))
    assert desk.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    assert not signed_in(thief)
    assert not signed_in(desk)
    assert signed_in(log_in(app, "desk"))  # logging in again works


def test_a_new_password_ends_every_session_of_the_account(app: Flask) -> None:
    thief = stolen_copy(app, log_in(app, "desk"))
    other = log_in(app, "boss")
    app.extensions["accounts"].set_password("desk", "another long password", "cli:root")
    assert not signed_in(thief)
    assert signed_in(other)  # other accounts' sessions go on


def test_a_removed_and_re_added_name_does_not_revive_an_old_cookie(app: Flask) -> None:
    thief = stolen_copy(app, log_in(app, "desk"))
    accounts = app.extensions["accounts"]
    accounts.remove("desk", "cli:root")
    assert not signed_in(thief)
    accounts.add("desk", PASSWORD, "staff", "cli:root")
    assert not signed_in(thief)


def test_a_role_change_ends_the_sessions_opened_with_the_old_role(app: Flask) -> None:
    boss = log_in(app, "boss")
    assert boss.get("/staff/admin").status_code == 200
    app.extensions["accounts"].set_role("boss", "staff", "cli:root")
    assert boss.get("/staff/admin").status_code == 302
    again = log_in(app, "boss")
    assert again.get("/staff/admin").status_code == 403


def test_what_pages_show_follows_the_role_in_the_database_not_the_cookie(app: Flask) -> None:
    desk = log_in(app, "desk")
    with desk.session_transaction() as session:
        session["role"] = "admin"  # what cookies carried before: pages no longer read it
    html = desk.get("/staff/referrals").get_data(as_text=True)
    assert 'href="/staff/admin"' not in html
    assert desk.get("/staff/admin").status_code == 403
    boss_html = log_in(app, "boss").get("/staff/referrals").get_data(as_text=True)
    assert 'href="/staff/admin"' in boss_html


def test_a_session_ends_after_30_idle_minutes(app: Flask, clock: list[int]) -> None:
    desk = log_in(app, "desk")
    for _ in range(3):  # in use every 29 minutes: still signed in after 87
        clock[0] += 29 * 60
        assert signed_in(desk)
    thief = stolen_copy(app, desk)
    clock[0] += 30 * 60 + 1
    assert not signed_in(thief)
    assert not signed_in(desk)


def test_a_session_ends_12_hours_after_the_login_however_busy(app: Flask, clock: list[int]) -> None:
    desk = log_in(app, "desk")
    for _ in range(12 * 3):  # a request every 20 minutes, for 12 hours
        clock[0] += 20 * 60
        assert signed_in(desk)
    clock[0] += 1
    assert not signed_in(desk)


def test_both_timeouts_are_settings(tmp_path: Path, clock: list[int]) -> None:
    app = app_on(
        f"sqlite:///{tmp_path / 'm.db'}",
        tmp_path,
        SECRET_KEY="s" * 32,
        STAFF_SESSION_IDLE_MINUTES=5,
        STAFF_SESSION_MAX_HOURS=1,
    )
    app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
    try:
        desk = log_in(app, "desk")
        clock[0] += 5 * 60 + 1
        assert not signed_in(desk)
        desk = log_in(app, "desk")
        for _ in range(15):
            clock[0] += 4 * 60
            assert signed_in(desk)
        clock[0] += 4 * 60
        assert not signed_in(desk)
    finally:
        close_database(app)
