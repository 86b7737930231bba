"""The database setting: a wrong URL or a database out of reach is named plainly, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from matcher import PROJECT_ROOT, create_app
from matcher.errors import ConfigError
from tests.databases import unreachable_url

EXPECTED = "expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"


def build_app(state_dir: Path, database_url: str) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "RATE_LIMIT": "",
            "STATE_DIR": str(state_dir),
            "DATABASE_URL": database_url,
        }
    )


def staff_command(state_dir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "matcher", "staff", "list"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "MATCHER_STATE_DIR": str(state_dir),
            "MATCHER_DATABASE_URL": database_url,
        },
    )


def test_a_first_start_with_the_database_down_names_it_without_the_password(
    tmp_path: Path, database_url: str
) -> None:
    url = unreachable_url(database_url, tmp_path)
    if url.startswith("postgresql"):
        url = url.replace("://matcher@", "://matcher:s3cret@")
    with pytest.raises(ConfigError) as raised:
        build_app(tmp_path, url)
    parsed = make_url(url)
    reason = (
        "unable to open database file"
        if url.startswith("sqlite")
        else f'connection failed: connection to server at "127.0.0.1", port {parsed.port} failed: '
        "Connection refused"
    )
    assert str(raised.value) == (
        "MATCHER_DATABASE_URL: cannot reach the database "
        f"{parsed.render_as_string(hide_password=True)}: {reason}"
    )
    assert "s3cret" not in str(raised.value)


def test_the_command_line_says_when_the_database_is_out_of_reach(
    tmp_path: Path, database_url: str
) -> None:
    url = unreachable_url(database_url, tmp_path)
    done = staff_command(tmp_path, url)
    shown = make_url(url).render_as_string(hide_password=True)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"matcher staff: cannot reach the database {shown}: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("nonsense:s3cret", f"not a database URL; {EXPECTED}"),
        (
            "postgres://matcher:s3cret@db/matcher",
            "cannot use postgres://matcher:***@db/matcher "
            f"(Can't load plugin: sqlalchemy.dialects:postgres); {EXPECTED}",
        ),
        (
            "postgresql+asyncpg://matcher:s3cret@db/matcher",
            "cannot use postgresql+asyncpg://matcher:***@db/matcher "
            f"(No module named 'asyncpg'); {EXPECTED}",
        ),
    ],
)
def test_a_database_url_that_cannot_be_used_is_explained_without_the_password(
    tmp_path: Path, url: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        build_app(tmp_path, url)
    assert str(raised.value) == f"MATCHER_DATABASE_URL: {problem}"
    done = staff_command(tmp_path, url)
    assert done.returncode == 1
    assert done.stderr == f"matcher staff: MATCHER_DATABASE_URL: {problem}\n"
