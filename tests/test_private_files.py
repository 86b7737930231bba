"""The state folder is private: another local user cannot read the database, its journal or locks.

The attacker is any other account on the machine; the service may be started under any umask
(0 included) and on a folder someone left open.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from matcher import PROJECT_ROOT
from matcher.storage.database import make_engine, migrate
from tests.databases import app_on, close_database
from tests.servers import running_server, server_log

CONTACT = {"name": "Sam", "email": "sam@example.org"}


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def modes(folder: Path) -> dict[str, str]:
    """Every folder and file under `folder` (itself as '.') with its permission bits."""
    found = {".": f"{stat.S_IMODE(folder.stat().st_mode):04o}"}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = f"{stat.S_IMODE(path.lstat().st_mode):04o}"
    return found


def assert_private(folder: Path) -> None:
    shown = modes(folder)
    wrong = {
        name: mode
        for name, mode in shown.items()
        if mode != ("0700" if (folder / name).is_dir() else "0600")
    }
    assert wrong == {}, shown


def test_a_start_under_umask_0_keeps_every_state_file_private(tmp_path: Path) -> None:
    state = tmp_path / "var"
    with umask(0):
        app = app_on(f"sqlite:///{state / 'matcher.db'}", state, KEEP_LAST_GOOD=True)
        try:
            app.extensions["accounts"].add("desk", "correct horse battery", "staff", "test")
            referral = app.test_client().post(
                "/api/v1/referrals",
                json={"intake": {"difficulties": ["grief"]}, "contact": CONTACT, "consent": True},
            )
            assert referral.status_code == 201
        finally:
            close_database(app)
    names = modes(state)
    assert {"matcher.db", "matcher.db.migrate.lock", "last-good"} <= set(names)
    assert any(name.startswith("last-good-") and name.endswith("rules") for name in names)
    assert_private(state)


def test_the_sqlite_journal_takes_the_private_mode_of_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'matcher.db'}"
    with umask(0):
        migrate(url, tmp_path)
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                transaction = connection.begin()
                connection.execute(
                    text(
                        "INSERT INTO audit_events (at, actor, action) "
                        "VALUES ('2026-01-01', 'test', 'test')"
                    )
                )
                journal = tmp_path / "db" / "matcher.db-journal"
                assert journal.exists()  # the write is in flight: its journal is on disk
                assert f"{stat.S_IMODE(journal.stat().st_mode):04o}" == "0600"
                transaction.rollback()
        finally:
            engine.dispose()
    assert_private(tmp_path / "db")


def test_a_folder_left_open_is_closed_at_start_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "var"
    state.mkdir()
    state.chmod(0o755)
    (state / "notes.txt").write_text("left here", encoding="utf-8")
    (state / "notes.txt").chmod(0o644)
    app = app_on(f"sqlite:///{state / 'matcher.db'}", state)
    close_database(app)
    assert_private(state)
    warned = [r.getMessage() for r in caplog.records if "state.not_private" in r.getMessage()]
    assert any(f"{state} was 0755, now 0700" in m for m in warned), warned
    assert any(f"{state / 'notes.txt'} was 0644, now 0600" in m for m in warned), warned


def run_check(state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "matcher", "check"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "MATCHER_STATE_DIR": str(state)},
        check=False,
    )


@pytest.mark.slow
def test_matcher_check_warns_about_a_state_folder_others_can_read(tmp_path: Path) -> None:
    state = tmp_path / "var"
    state.mkdir()
    (state / "matcher.db").write_bytes(b"")
    state.chmod(0o755)
    (state / "matcher.db").chmod(0o644)
    result = run_check(state)
    assert result.returncode == 0 and result.stdout.startswith("matcher check: ok:")
    assert result.stderr.splitlines() == [
        f"matcher check: warning: {state} is 0755, should be 0700: other users can read referral "
        "contacts and password hashes (the service makes it private when it starts; or "
        "chmod -R go= it)",
        f"matcher check: warning: {state / 'matcher.db'} is 0644, should be 0600: other users can "
        "read referral contacts and password hashes (the service makes it private when it "
        "starts; or chmod -R go= it)",
    ]
    # check only reports: it changes nothing
    assert modes(state) == {".": "0755", "matcher.db": "0644"}
    state.chmod(0o700)
    (state / "matcher.db").chmod(0o600)
    assert run_check(state).stderr == ""


@pytest.mark.slow
def test_the_real_server_under_umask_0_on_an_open_folder_keeps_its_files_private(
    tmp_path: Path,
) -> None:
    state = tmp_path / "var"
    state.mkdir()
    state.chmod(0o777)
    with running_server({"MATCHER_STATE_DIR": str(state)}, umask=0) as (base, process):
        for name in ("Ana", "Ben", "Cleo"):
            response = requests.post(
                f"{base}/api/v1/referrals",
                json={
                    "intake": {"difficulties": ["grief"]},
                    "contact": {**CONTACT, "name": name},
                    "consent": True,
                },
                timeout=10,
            )
            assert response.status_code == 201
        assert_private(state)
        assert f"{state} was 0777, now 0700" in server_log(process)
