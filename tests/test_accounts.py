"""Staff accounts: argon2 hashes, lock-out, roles, the command line, and the audit log."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from matcher import PROJECT_ROOT, create_app
from matcher.accounts import LOCK_OUT, MAX_FAILED_LOGINS, AccountError, Accounts
from matcher.store import StaffAccount, make_engine, migrate, now
from tests.forms import form_token

PASSWORD = "correct horse battery"


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


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    accounts: Accounts,
) -> None:
    accounts.add("ana", PASSWORD, "staff", "test")
    start = now()
    outcomes = [
        accounts.login("ana", "wrong guess", start).outcome for _ in range(MAX_FAILED_LOGINS)
    ]
    assert outcomes == ["wrong"] * MAX_FAILED_LOGINS
    locked = accounts.login("ana", PASSWORD, start + timedelta(minutes=1))
    assert locked.outcome == "locked" and locked.locked_until is not None
    assert accounts.login("ana", PASSWORD, start + LOCK_OUT + timedelta(seconds=1)).outcome == "ok"


def test_guesses_sent_in_parallel_are_all_counted(accounts: Accounts) -> None:
    # Several workers (or instances) checking wrong passwords at the same moment: each failure
    # counts, so parallel guessing locks the account as fast as guessing one after another.
    accounts.add("ana", PASSWORD, "staff", "test")
    barrier = threading.Barrier(MAX_FAILED_LOGINS)

    def guess() -> None:
        barrier.wait()
        accounts.login("ana", "wrong guess")

    threads = [threading.Thread(target=guess) for _ in range(MAX_FAILED_LOGINS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert accounts.login("ana", PASSWORD).outcome == "locked"


def test_an_admin_can_unlock_an_account_early(accounts: Accounts) -> None:
    accounts.add("ana", PASSWORD, "staff", "test")
    for _ in range(MAX_FAILED_LOGINS):
        accounts.login("ana", "wrong guess")
    accounts.unlock("ana", "admin")
    assert accounts.login("ana", PASSWORD).outcome == "ok"
    actions = [e["action"] for e in accounts.audit_log()]
    assert actions[:3] == ["login", "account.unlocked", "account.locked"]


def test_an_unknown_name_looks_like_a_wrong_password(accounts: Accounts) -> None:
    assert accounts.login("nobody", PASSWORD).outcome == "wrong"


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
        {"TESTING": True, "SECRET_KEY": "k", "STATE_DIR": str(tmp_path), "RATE_LIMIT": ""}
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


def test_a_locked_account_is_told_so_at_the_login(staff_app: Flask) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        _, response = log_in(staff_app, "desk", "wrong guess")
        assert response.status_code == 401
    _, response = log_in(staff_app, "desk")
    assert response.status_code == 403
    assert "This account is locked after too many failed logins until" in response.get_data(
        as_text=True
    )


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
    assert client.post("/staff", data={**answers, "action": "match"}).status_code == 200
    assert (
        client.post("/staff", data={**answers, "action": "why", "therapist": "t-002"}).status_code
        == 200
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
    assert "<td>login</td>" in html  # the audit log, newest first
