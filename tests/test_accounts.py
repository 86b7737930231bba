"""Staff accounts: argon2 hashes, lock-out, roles, the command line, and the audit log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher, extract_parameters
from flask import Flask

from matcher import PROJECT_ROOT
from matcher.storage import accounts as accounts_module
from matcher.storage.accounts import (
    FREE_FAILURES_PER_ADDRESS,
    FREE_FAILURES_PER_NAME,
    MAX_DELAY,
    AccountError,
    Accounts,
    delay_after,
)
from matcher.storage.database import StaffAccount, make_engine, migrate, now
from matcher.web import create_app
from tests.forms import form_token

PASSWORD = "correct horse battery"
STRANGER, DESK = "203.0.113.7", "192.0.2.10"


@pytest.fixture()
def accounts(tmp_path: Path, database_url: str) -> Iterator[Accounts]:
    migrate(database_url, tmp_path)
    held = Accounts(make_engine(database_url))
    yield held
    held.engine.dispose()


def test_passwords_are_stored_as_argon2_hashes_only(accounts: Accounts) -> None:
    accounts.add("ana", PASSWORD, "staff", "test")
    from sqlalchemy.orm import Session

    with Session(accounts.engine) as session:
        stored = session.query(StaffAccount).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.login("ana", PASSWORD).outcome == "ok"


@pytest.mark.parametrize(
    ("name", "password", "role", "problem"),
    [
        ("Ana Smith", PASSWORD, "staff", "a username is 1 to 64 lowercase letters"),
        ("ana", "short", "staff", "a password has at least 12 characters"),
        ("ana", PASSWORD, "owner", "role must be one of: staff, admin"),
    ],
)
def test_bad_new_accounts_are_refused(
    accounts: Accounts, name: str, password: str, role: str, problem: str
) -> None:
    with pytest.raises(AccountError, match=problem):
        accounts.add(name, password, role, "test")


def test_failures_from_one_address_make_it_wait_longer_each_time_never_locked(
    accounts: Accounts,
) -> None:
    accounts.add("ana", PASSWORD, "staff", "test")
    start = now()
    attempts = [
        accounts.login("ana", "wrong guess", STRANGER, start) for _ in range(FREE_FAILURES_PER_NAME)
    ]
    assert [(a.outcome, a.retry_after) for a in attempts] == [("wrong", 0)] * 3
    waits = []
    moment = start
    for _ in range(4):  # each further failure doubles the wait
        result = accounts.login("ana", "wrong guess", STRANGER, moment)
        assert result.outcome == "wrong"
        waits.append(result.retry_after)
        # while it waits, even the right password is not looked at
        refused = accounts.login("ana", PASSWORD, STRANGER, moment)
        assert (refused.outcome, refused.retry_after) == ("throttled", result.retry_after)
        moment += timedelta(seconds=result.retry_after)
    assert waits == [1, 2, 4, 8]
    # the stranger's guesses never keep the receptionist out, at their own desk
    assert accounts.login("ana", PASSWORD, DESK, start).outcome == "ok"
    assert accounts.login("ana", PASSWORD, STRANGER, moment).outcome == "ok"


def test_the_wait_grows_to_a_cap_of_15_minutes() -> None:
    assert delay_after(3, 3) == timedelta(0)
    assert delay_after(4, 3) == timedelta(seconds=1)
    assert delay_after(13, 3) == timedelta(seconds=512)
    assert delay_after(14, 3) == MAX_DELAY == timedelta(minutes=15)
    assert delay_after(10_000, 3) == MAX_DELAY


def test_one_address_guessing_many_names_is_slowed_down_too(accounts: Accounts) -> None:
    moment = now()
    for number in range(FREE_FAILURES_PER_ADDRESS):
        assert accounts.login(f"name{number}", "guess", STRANGER, moment).retry_after == 0
    assert accounts.login("another", "guess", STRANGER, moment).retry_after == 1
    assert accounts.login("yet-another", "guess", STRANGER, moment).outcome == "throttled"
    assert accounts.login("yet-another", "guess", DESK, moment).outcome == "wrong"


def test_a_successful_login_starts_both_counts_again(accounts: Accounts) -> None:
    accounts.add("ana", PASSWORD, "staff", "test")
    moment = now()
    for number in range(FREE_FAILURES_PER_ADDRESS - 1):
        accounts.login(f"typo{number}", "guess", DESK, moment)
    accounts.login("ana", "typo", DESK, moment)
    assert accounts.login("ana", PASSWORD, DESK, moment).outcome == "ok"
    assert [(f["username"], f["failures"]) for f in accounts.failed_logins(moment)] == [
        (f"typo{n}", 1) for n in range(FREE_FAILURES_PER_ADDRESS - 1)
    ]
    assert accounts.login("ben", "typo", DESK, moment).retry_after == 0


def test_guesses_sent_in_parallel_are_all_counted(accounts: Accounts) -> None:
    # Several workers (or instances) checking wrong passwords at the same moment: each failure
    # counts, so parallel guessing is slowed down as much as guessing one after another.
    # The real hash (not the suite's cheap one) keeps all the guesses in flight together.
    accounts.hasher = PasswordHasher()
    accounts.add("ana", PASSWORD, "staff", "test")
    guesses = FREE_FAILURES_PER_NAME + 2
    barrier = threading.Barrier(guesses)
    outcomes: list[str] = []
    moment = now()

    def guess() -> None:
        barrier.wait()
        outcomes.append(accounts.login("ana", "wrong guess", STRANGER, moment).outcome)

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["wrong"] * guesses
    counted = {(f["username"], f["address"]): f["failures"] for f in accounts.failed_logins()}
    assert counted == {("ana", STRANGER): guesses, ("*", STRANGER): guesses}
    assert accounts.login("ana", PASSWORD, STRANGER, moment).outcome == "throttled"


def test_an_admin_can_clear_the_wait_early(accounts: Accounts) -> None:
    accounts.add("ana", PASSWORD, "staff", "test")
    for _ in range(FREE_FAILURES_PER_NAME + 1):
        accounts.login("ana", "wrong guess", DESK)
    assert accounts.login("ana", PASSWORD, DESK).outcome == "throttled"
    accounts.unlock("ana", "boss", DESK)
    assert accounts.login("ana", PASSWORD, DESK).outcome == "ok"
    actions = [e["action"] for e in accounts.audit_log()]
    assert actions[:4] == ["login", "login.unlocked", "login.throttled", "login.failed"]


def test_an_unknown_name_is_answered_exactly_like_a_wrong_password(accounts: Accounts) -> None:
    accounts.add("ana", PASSWORD, "staff", "test")
    moment = now()

    def answers(name: str) -> list[tuple[str, int]]:
        return [
            (r.outcome, r.retry_after)
            for r in (accounts.login(name, "wrong guess", f"{name}-host", moment) for _ in range(6))
        ]

    unknown = answers("nobody")
    assert unknown == answers("ana")
    assert unknown == [("wrong", 0)] * 3 + [("wrong", 1)] + [("throttled", 1)] * 2


@pytest.mark.slow
def test_the_command_line_adds_lists_and_refuses_duplicates(tmp_path: Path) -> None:
    env = {**os.environ, "MATCHER_STATE_DIR": str(tmp_path)}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "matcher", "staff", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            env=env,
        )

    added = run("add", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0 and added.stdout.strip() == "matcher staff: added 'boss' (admin)"
    again = run("add", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert again.stderr.strip() == "matcher staff: there is already an account named 'boss'"
    assert run("list").stdout.strip() == "boss\tadmin"


@pytest.fixture()
def staff_app(tmp_path: Path) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k" * 32,
            "STATE_DIR": str(tmp_path),
            "RATE_LIMIT": "",
            # The database's own throttle is what these tests are about.
            "LOGIN_RATE_LIMIT": "",
        }
    )
    app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
    app.extensions["accounts"].add("boss", PASSWORD, "admin", "test")
    return app


def log_in(app: Flask, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post(
        "/staff/login",
        data={
            "username": name,
            "password": password,
            "csrf_token": form_token(page),
            "next": "/staff",
        },
    )
    return client, response


def test_a_stranger_at_the_login_page_cannot_tell_names_apart_nor_lock_anyone_out(
    staff_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = now()
    monkeypatch.setattr(accounts_module, "now", lambda: moment)  # the clock stands still

    def tries(name: str) -> list[tuple[int, str, str | None]]:
        seen = []
        for _ in range(6):
            _, response = log_in(staff_app, name, "wrong guess")
            message = re.search(
                r'role="alert">.*?</span>(.*?)</p>', response.get_data(as_text=True)
            )
            assert message
            seen.append(
                (response.status_code, message.group(1), response.headers.get("Retry-After"))
            )
        return seen

    known, unknown = tries("desk"), tries("nobody")
    assert known == unknown
    assert known[2] == (401, "That name or password is not right. Please try again.", None)
    assert known[3] == (
        401,
        "That name or password is not right. Please wait 1 seconds before trying again.",
        None,
    )
    assert known[4][0] == 429 and known[4][2] == "1"
    assert known[4][1] == (
        "Too many failed logins from here for now. Please wait 1 seconds before trying again. "
        "An admin can clear this sooner."
    )
    # an admin sees who failed from where, and clears it
    boss, response = log_in(staff_app, "boss")
    assert response.status_code == 303
    page = boss.get("/staff/admin").get_data(as_text=True)
    assert "<td>desk</td>\n      <td>127.0.0.1</td>\n      <td>4</td>" in page
    assert "<td>nobody</td>\n      <td>127.0.0.1</td>\n      <td>4</td>" in page
    cleared = boss.post(
        "/staff/admin/unlock",
        data={"csrf_token": form_token(page), "username": "desk", "address": "127.0.0.1"},
    )
    assert cleared.status_code == 303
    assert log_in(staff_app, "desk")[1].status_code == 303


def test_console_actions_on_a_callers_answers_are_audited_without_the_answers(
    staff_app: Flask,
) -> None:
    client, _ = log_in(staff_app, "desk")
    page = client.get("/staff").get_data(as_text=True)
    answers = {
        "difficulties": "ptsd",
        "city": "Madrid",
        "format": "in_person",
        "csrf_token": form_token(page),
    }
    assert client.post("/staff", data={**answers, "action": "match"}).status_code == 303
    assert (
        client.post("/staff", data={**answers, "action": "why", "therapist": "t-002"}).status_code
        == 303
    )
    events = staff_app.extensions["accounts"].audit_log()
    assert [(e["actor"], e["action"], e["subject"]) for e in events[:2]] == [
        ("desk", "console.why", "t-002"),
        ("desk", "console.match", None),
    ]
    assert "ptsd" not in repr(events) and "Madrid" not in repr(events)


def test_only_admins_see_the_admin_page(staff_app: Flask) -> None:
    desk, _ = log_in(staff_app, "desk")
    assert desk.get("/staff/admin").status_code == 403
    boss, _ = log_in(staff_app, "boss")
    page = boss.get("/staff/admin")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<td>desk</td><td>staff</td>" in html and "<td>boss</td><td>admin</td>" in html
    assert "<td><code>login</code></td>" in html  # the audit log, newest first


def test_an_unknown_name_is_checked_against_a_hash_as_costly_as_a_real_one(
    accounts: Accounts,
) -> None:
    accounts.add("ana", PASSWORD, "staff", "test")
    from sqlalchemy.orm import Session

    with Session(accounts.engine) as session:
        stored = session.query(StaffAccount).one().password_hash
    assert extract_parameters(accounts._decoy) == extract_parameters(stored)
