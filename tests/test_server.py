"""The real service under gunicorn, over HTTP, started by the test itself."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from matcher import PROJECT_ROOT

INTAKE = {
    "difficulties": ["ocd"],
    "preferences": {"languages": ["nl"], "format": "in_person", "city": "Amsterdam"},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(port: int, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start the service under gunicorn; its output goes to a file (see `server_log`).

    Not a pipe: a pipe nobody reads fills after 64 KiB of log lines and blocks the workers.
    """
    log = tempfile.NamedTemporaryFile("w", prefix="gunicorn-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.close()
    process.log_path = log.name  # type: ignore[attr-defined]
    return process


def server_log(process: subprocess.Popen[str]) -> str:
    """Everything the server has written so far."""
    return Path(process.log_path).read_text(encoding="utf-8")  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    process = start_gunicorn(port)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{server_log(process)}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


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
