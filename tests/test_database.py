"""The database setting: a wrong URL or a database out of reach is named plainly, never a traceback,
and never with its password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from tests.databases import app_on, unreachable_url

EXPECTED = "expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"


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


def down_message(url: str) -> str:
    """What start-up says about `url` (from tests.databases.unreachable_url), whose server is down."""
    if url.startswith("sqlite"):
        return f"cannot reach the database {url}: unable to open database file"
    port = make_url(url).port
    return (
        f"cannot reach the database postgresql+psycopg://matcher@127.0.0.1:{port}/matcher: "
        f'connection failed: connection to server at "127.0.0.1", port {port} failed: '
        "Connection refused"
    )


def test_a_first_start_with_the_database_down_names_it_and_why(
    tmp_path: Path, database_url: str
) -> None:
    url = unreachable_url(database_url, tmp_path)
    with pytest.raises(ConfigError) as raised:
        app_on(url, tmp_path)
    assert str(raised.value) == f"MATCHER_DATABASE_URL: {down_message(url)}"


@pytest.mark.slow
def test_the_command_line_says_when_the_database_is_out_of_reach(
    tmp_path: Path, database_url: str
) -> None:
    url = unreachable_url(database_url, tmp_path)
    done = staff_command(tmp_path, url)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"matcher staff: {down_message(url)}\n"


@pytest.fixture()
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers, like a hung database host."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@pytest.mark.slow
def test_a_database_that_accepts_but_never_answers_fails_start_up_within_seconds(
    tmp_path: Path, silent_server: int
) -> None:
    # Without a connect timeout this waited over two minutes: gunicorn kills a worker that has
    # not started after 30 s, and a request would hang as long.
    url = f"postgresql+psycopg://matcher@127.0.0.1:{silent_server}/matcher"
    with pytest.raises(ConfigError) as raised:
        app_on(url, tmp_path)
    assert str(raised.value) == (
        "MATCHER_DATABASE_URL: cannot reach the database "
        f"postgresql+psycopg://matcher@127.0.0.1:{silent_server}/matcher: "
        "connection timeout expired"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # An unencoded "@" in the password: the rest of the password parses as the host.
        (
            "postgresql+psycopg://matcher:s3c@ret@127.0.0.1:{port}/matcher",
            "postgresql+psycopg://(address not shown: more than one '@'; write an '@' in the "
            "password as %40)",
        ),
        (
            "postgresql+psycopg://matcher:s3cret@127.0.0.1:{port}/matcher",
            "postgresql+psycopg://matcher@127.0.0.1:{port}/matcher",
        ),
        (
            "postgresql+psycopg://matcher@127.0.0.1:{port}/matcher?password=s3cret",
            "postgresql+psycopg://matcher@127.0.0.1:{port}/matcher",
        ),
    ],
)
def test_messages_about_the_database_never_show_its_password(
    tmp_path: Path, url: str, shown: str
) -> None:
    port = make_url(unreachable_url("postgresql://", tmp_path)).port
    url, shown = url.format(port=port), shown.format(port=port)
    with pytest.raises(ConfigError) as raised:
        app_on(url, tmp_path)
    assert str(raised.value).startswith(
        f"MATCHER_DATABASE_URL: cannot reach the database {shown}: "
    )
    done = staff_command(tmp_path, url)
    assert done.returncode == 1
    for said in (str(raised.value), done.stderr):
        assert "s3c" not in said and "ret@" not in said


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("nonsense:s3cret", f"not a database URL; {EXPECTED}"),
        ("postgresql+psycopg://matcher:s3cret@db:port/matcher", f"not a database URL; {EXPECTED}"),
        (
            "postgres://matcher:s3cret@db/matcher",
            "cannot use postgres://matcher@db/matcher "
            f"(Can't load plugin: sqlalchemy.dialects:postgres); {EXPECTED}",
        ),
        (
            "postgresql+asyncpg://matcher:s3cret@db/matcher",
            "cannot use postgresql+asyncpg://matcher@db/matcher "
            f"(No module named 'asyncpg'); {EXPECTED}",
        ),
    ],
)
def test_a_database_url_that_cannot_be_used_is_explained_without_the_password(
    tmp_path: Path, url: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        app_on(url, tmp_path)
    assert str(raised.value) == f"MATCHER_DATABASE_URL: {problem}"
    done = staff_command(tmp_path, url)
    assert done.returncode == 1
    assert done.stderr == f"matcher staff: MATCHER_DATABASE_URL: {problem}\n"
