"""The real service under gunicorn, over HTTP, started by the test itself."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url

from matcher import PROJECT_ROOT
from tests.databases import unreachable_url
from tests.servers import free_port, running_server, server_log, start_gunicorn

# Every test here starts gunicorn.
pytestmark = pytest.mark.slow

INTAKE = {
    "difficulties": ["ocd"],
    "preferences": {"languages": ["nl"], "format": "in_person", "city": "Amsterdam"},
}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server() as (base, _):
        yield base


def test_a_posted_intake_gets_explained_matches_over_http(server: str) -> None:
    response = requests.post(f"{server}/api/v1/match", json=INTAKE, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["modalities"][0]["id"] == "erp"
    assert body["matches"], body["no_match"]
    for match in body["matches"]:
        therapist = match["therapist"]
        assert "nl" in therapist["languages"] and therapist["city"] == "Amsterdam"


def test_every_worker_gives_the_same_bytes(server: str) -> None:
    bodies = {
        requests.post(f"{server}/api/v1/match", json=INTAKE, timeout=10).content for _ in range(12)
    }
    assert len(bodies) == 1


def test_errors_over_http_are_json(server: str) -> None:
    bad = requests.post(
        f"{server}/api/v1/match", data="{", timeout=10, headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == 400
    big = requests.post(
        f"{server}/api/v1/match",
        data="x" * 70_000,
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 413


def test_gunicorn_refuses_to_start_on_a_bad_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    trauma = rules / "clinical" / "trauma.yaml"
    trauma.write_text(
        trauma.read_text(encoding="utf-8").replace("recommend: emdr", "recommend: emdr2", 1),
        encoding="utf-8",
    )
    process = start_gunicorn(free_port(), {"MATCHER_RULES_DIR": str(rules)})
    process.wait(timeout=60)
    output = server_log(process)
    assert process.returncode == 1
    assert (
        "matcher: cannot start: rules/clinical/trauma.yaml: rule 'ptsd.emdr': recommend: 'emdr2'"
        in output
    )


def test_gunicorn_refuses_to_start_when_the_database_is_out_of_reach(
    tmp_path: Path, database_url: str
) -> None:
    url = unreachable_url(database_url, tmp_path)
    process = start_gunicorn(free_port(), {"MATCHER_DATABASE_URL": url})
    process.wait(timeout=60)
    assert process.returncode == 1
    shown = make_url(url).render_as_string(hide_password=True)
    assert f"matcher: cannot start: MATCHER_DATABASE_URL: cannot reach the database {shown}: " in (
        server_log(process)
    )


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (
            "1234567890123456789012345678901234567890",
            "must be a string of at least 32 characters, not a number (the value is read as "
            "JSON when it parses)",
        ),
        (
            "true",
            "must be a string of at least 32 characters, not true or false (the value is read "
            "as JSON when it parses)",
        ),
        ("changeme", "must be at least 32 characters, not 8"),
    ],
)
def test_gunicorn_refuses_a_secret_key_that_is_not_a_long_string(key: str, problem: str) -> None:
    process = start_gunicorn(free_port(), {"MATCHER_SECRET_KEY": key})
    process.wait(timeout=60)
    assert process.returncode == 1
    lines = [line for line in server_log(process).splitlines() if "cannot start" in line]
    assert lines == [
        f"matcher: cannot start: MATCHER_SECRET_KEY: {problem}; make one with: "
        "python3 -c 'import secrets; print(secrets.token_hex(32))'"
    ]
