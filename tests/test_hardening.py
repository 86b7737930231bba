"""Headers, CORS, rate limits, request ids, and reloads that keep serving the last good rules."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.web import create_app
from tests.servers import running_server

INTAKE = {"difficulties": ["grief"]}


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/vocabulary", "/api/v1/nothing", "/"])
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_cors_admits_only_the_listed_clinic_origins() -> None:
    client = create_app(
        {"CORS_ORIGINS": "https://clinic.example, https://other.example", "RATE_LIMIT": ""}
    ).test_client()
    allowed = client.post(
        "/api/v1/match", json=INTAKE, headers={"Origin": "https://clinic.example"}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://clinic.example"
    refused = client.post("/api/v1/match", json=INTAKE, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    preflight = client.options(
        "/api/v1/match",
        headers={
            "Origin": "https://other.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://other.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_no_origin_is_allowed_by_default(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/match", json=INTAKE, headers={"Origin": "https://clinic.example"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_public_endpoints_are_rate_limited_with_retry_after() -> None:
    client = create_app({"RATE_LIMIT": "3 per minute"}).test_client()
    statuses = [client.post("/api/v1/match", json=INTAKE).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = client.post("/api/v1/match", json=INTAKE)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["message"].startswith(
        "Too many requests from this address (limit: 3 per 1 minute)."
    )
    assert client.get("/healthz").status_code == 200  # health checks are never limited


def login_attempts(client: FlaskClient, count: int) -> list[int]:
    from tests.forms import form_token

    token = form_token(client.get("/staff/login").get_data(as_text=True))
    return [
        client.post(
            "/staff/login",
            # a new name each time: the database's own per-name throttle stays out of the way
            data={"username": f"guess{n}", "password": "wrong guess", "csrf_token": token},
        ).status_code
        for n in range(count)
    ]


def test_turning_the_public_limit_off_leaves_the_login_limited(tmp_path: Path) -> None:
    app = create_app({"RATE_LIMIT": "", "STATE_DIR": str(tmp_path), "SECRET_KEY": "s" * 32})
    app.extensions["accounts"].add("desk", "correct horse battery", "staff", "test")
    client = app.test_client()
    assert [client.post("/api/v1/match", json=INTAKE).status_code for _ in range(15)] == [200] * 15
    assert login_attempts(client, 11) == [401] * 10 + [429]


def test_the_login_limit_is_its_own_setting(tmp_path: Path) -> None:
    app = create_app(
        {
            "RATE_LIMIT": "3 per minute",
            "LOGIN_RATE_LIMIT": "2 per minute",
            "STATE_DIR": str(tmp_path),
            "SECRET_KEY": "s" * 32,
        }
    )
    app.extensions["accounts"].add("desk", "correct horse battery", "staff", "test")
    client = app.test_client()
    assert login_attempts(client, 3) == [401, 401, 429]
    assert [client.post("/api/v1/match", json=INTAKE).status_code for _ in range(4)] == [
        200,
        200,
        200,
        429,
    ]


def test_request_ids_are_echoed_or_made(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert made.headers["X-Request-ID"] != "<script>" and len(made.headers["X-Request-ID"]) == 32


def test_a_direct_start_on_bad_files_still_fails(rules_copy: Path) -> None:
    (rules_copy / "clinical" / "trauma.yaml").write_text("rules: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        create_app(
            {
                "RULES_DIR": str(rules_copy),
                "KEEP_LAST_GOOD": True,
                "STATE_DIR": str(rules_copy.parent / "state"),
            }
        )


@pytest.fixture()
def served_copy(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    env = {"MATCHER_RULES_DIR": str(rules), "MATCHER_STATE_DIR": str(tmp_path / "state")}
    with running_server(env) as (base, process):
        yield base, rules, process.pid


def wait_for(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # workers being replaced: not yet answering
        time.sleep(0.25)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
def test_a_reload_with_a_broken_rules_file_keeps_serving_the_last_good_version(
    served_copy: tuple[str, Path, int],
) -> None:
    base, rules, master = served_copy
    before = requests.get(f"{base}/healthz", timeout=5).json()
    trauma = rules / "clinical" / "trauma.yaml"
    good = trauma.read_text(encoding="utf-8")
    trauma.write_text(good.replace("recommend: emdr", "recommend: emdr2", 1), encoding="utf-8")
    os.kill(master, signal.SIGHUP)
    # every worker is replaced by one that serves the last good copy and says why
    for _ in range(10):
        wait_for(lambda: requests.get(f"{base}/healthz", timeout=2).json()["status"] == "degraded")
    health = requests.get(f"{base}/healthz", timeout=5).json()
    assert health["rules_version"] == before["rules_version"]
    assert "rule 'ptsd.emdr': recommend: 'emdr2' is not in the vocabulary" in health["reload_error"]
    match = requests.post(f"{base}/api/v1/match", json={"difficulties": ["ptsd"]}, timeout=5)
    assert match.status_code == 200 and match.json()["rules_version"] == before["rules_version"]
    assert "emdr" in [m["id"] for m in match.json()["modalities"]]
    # fixed, with a real change: the next reload serves the new version
    trauma.write_text(good + "\n# reviewed\n", encoding="utf-8")
    os.kill(master, signal.SIGHUP)

    def serving_the_fix() -> bool:
        health = requests.get(f"{base}/healthz", timeout=2).json()
        return bool(health["status"] == "ok" and health["rules_version"] != before["rules_version"])

    wait_for(serving_the_fix)
