"""No intake content in any log line: a full run of the real server, its whole log read back."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import requests

from tests.servers import running_server, server_log

# A full run of gunicorn.
pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "fhir" / "phq9_loinc_linkids.json"
# Values a person might write, each unlikely to appear in a log for any other reason.
SECRETS = [
    "Privacyville",
    "complex_trauma",
    "emotion_regulation",
    "non_binary",
    "weekday_evening",
    "Secret-Value-7731",
    "phq9_item9",
    "self_harm_thoughts",
    "LA6570-1",
    "44260-8",
]


def test_a_full_run_of_the_server_logs_no_intake_content() -> None:
    with running_server({"MATCHER_RATE_LIMIT": "", "MATCHER_LOG_LEVEL": "DEBUG"}) as (
        base,
        process,
    ):
        intake = {
            "difficulties": ["complex_trauma", "emotion_regulation"],
            "preferences": {
                "city": "Privacyville",
                "format": "in_person",
                "therapist_gender": "non_binary",
                "times": ["weekday_evening"],
                "languages": ["en"],
                "age": 41,
                "max_fee": 77,
            },
            "screening": {"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 2]},
            "risk": {"self_harm_thoughts": True},
        }
        urgent = requests.post(f"{base}/api/v1/match", json=intake, timeout=10)
        assert urgent.status_code == 200 and urgent.json()["safety"]["urgent"] is True
        assert requests.post(f"{base}/api/v1/therapists/t-001/why", json=intake, timeout=10).ok
        bad = {**intake, "difficulties": ["Secret-Value-7731"]}
        assert requests.post(f"{base}/api/v1/match", json=bad, timeout=10).status_code == 422
        parameters = {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "difficulties", "valueCode": "complex_trauma"},
                {"name": "city", "valueString": "Privacyville"},
                {"name": "response", "resource": json.loads(FIXTURE.read_bytes())},
            ],
        }
        fhir = requests.post(
            f"{base}/api/v1/match?format=in_person",
            data=json.dumps(parameters),
            headers={"Content-Type": "application/fhir+json"},
            timeout=10,
        )
        assert fhir.status_code == 200
        assert (
            requests.post(
                f"{base}/api/v1/match",
                data=b"{not json Privacyville",
                headers={"Content-Type": "application/json"},
                timeout=10,
            ).status_code
            == 400
        )
        # A malformed request line, which gunicorn itself answers (400) and logs.
        host, port = base.removeprefix("http://").split(":")
        for line in (b"GET /a?city=Privacyville", b"GET /a?city=Privacy Privacyville HTTP/1.1"):
            with socket.create_connection((host, int(port)), timeout=10) as raw:
                raw.sendall(line + b"\r\n\r\n")
                assert raw.recv(1024).startswith(b"HTTP/1.1 400")
        deadline = time.monotonic() + 10  # gunicorn writes its warning after answering
        while server_log(process).count("Invalid request") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    log = server_log(process)
    assert "Invalid HTTP request line: '[removed]'" in log
    assert "Invalid HTTP Version: '[removed]'" in log
    lines = [line for line in log.splitlines() if line.strip()]
    requests_logged = [json.loads(line) for line in lines if '"event": "request"' in line]
    assert len(requests_logged) >= 6  # the run really was logged
    assert any('"event": "safety.urgent_intake"' in line for line in lines)
    for secret in SECRETS:
        assert secret not in log, f"{secret!r} appears in the log"
    for entry in requests_logged:
        assert set(entry) == {
            "event",
            "level",
            "logger",
            "method",
            "ms",
            "request_id",
            "route",
            "status",
            "ts",
        }
