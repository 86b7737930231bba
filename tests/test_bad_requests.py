"""Requests built to break the service get a 4xx naming what is wrong, never a 500.

Each was a 500 in a review that attacked the running service: a 5,000-digit integer, broken
or oversized chunked bodies, CR LF in a path that ends in a redirect, and values longer than
their database column (which PostgreSQL refuses and SQLite keeps).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.schemas import CLOSE_REASON_MAX, THERAPIST_ID_PATTERN
from matcher.storage.accounts import MAX_ADDRESS_LENGTH
from matcher.storage.database import AuditEvent, LoginFailure, Referral, StaffAccount
from tests.databases import app_on, close_database
from tests.forms import form_token
from tests.servers import running_server

PASSWORD = "correct horse battery"
HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/match", '{"difficulties": ["grief"], "limit": %s}'),
        ("/api/v1/match", '{"difficulties": ["grief"], "preferences": {"age": -%s}}'),
        ("/api/v1/therapists/t-001/why", '{"difficulties": ["grief"], "x": [%s]}'),
        (
            "/api/v1/referrals",
            '{"intake": {"difficulties": ["grief"]}, "consent": true, '
            '"contact": {"name": "Sam", "email": "sam@example.org"}, "n": %s}',
        ),
    ],
)
def test_a_5000_digit_integer_anywhere_is_a_400(client: FlaskClient, path: str, body: str) -> None:
    response = client.post(path, data=body % HUGE, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "Malformed JSON: a number of 5000 digits; no field takes more than 20."
    )


# --- chunked bodies, on the real server (the test client always sends a Content-Length) ---------


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    with running_server({"MATCHER_RATE_LIMIT": ""}) as (base, _):
        yield int(base.rsplit(":", 1)[1])


def send_raw(port: int, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send bytes as they are; return the status and the JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def chunked(body: bytes, path: str = "/api/v1/match") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode() + body


@pytest.mark.slow
def test_a_well_formed_chunked_body_is_read_as_usual(server_port: int) -> None:
    intake = json.dumps({"difficulties": ["grief"]}).encode()
    status, body = send_raw(server_port, chunked(b"%x\r\n%s\r\n0\r\n\r\n" % (len(intake), intake)))
    assert status == 200 and body["modalities"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "broken",
    [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"2;\x00\r\n{}\r\n0\r\n\r\n"],
    ids=["bad chunk size", "missing terminator", "bad extension"],
)
def test_a_malformed_chunked_body_is_a_400(server_port: int, broken: bytes) -> None:
    status, body = send_raw(server_port, chunked(broken))
    assert status == 400
    assert body["message"] == "The request body could not be read: its chunked encoding is broken."


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/api/v1/match", "/api/v1/referrals"])
def test_a_chunked_body_over_the_limit_is_a_413_not_a_truncated_parse(
    server_port: int, path: str
) -> None:
    big = json.dumps({"difficulties": ["grief"], "preferences": {"city": "x" * 70_000}}).encode()
    status, body = send_raw(server_port, chunked(b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big), path))
    assert status == 413
    assert body["message"] == "The body is over the limit of 65536 bytes."


# --- the console ---------------------------------------------------------------------------------


@pytest.fixture()
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = app_on(database_url, tmp_path, SECRET_KEY="s" * 32)
    app.extensions["accounts"].add("boss", PASSWORD, "admin", "test")
    yield app
    close_database(app)


def logged_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    token = form_token(client.get("/staff/login").get_data(as_text=True))
    client.post(
        "/staff/login",
        data={"username": "boss", "password": PASSWORD, "csrf_token": token, "next": "/staff"},
    )
    return client


def test_cr_lf_in_a_path_never_reaches_the_redirect_header(app: Flask) -> None:
    response = app.test_client().get("/staff/referrals/%0d%0aSet-Cookie:%20x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "/staff/login?next=/staff/referrals/%0D%0ASet-Cookie%3A%20x%3D1"
    )
    assert "x=1" not in response.headers.get("Set-Cookie", "")
    # and sent on as the login's next, it stays quoted
    client = app.test_client()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    done = client.post(
        "/staff/login",
        data={
            "username": "boss",
            "password": PASSWORD,
            "csrf_token": form_token(page),
            "next": "/staff/referrals/\r\nSet-Cookie: x=1",
        },
    )
    assert done.status_code == 303
    # urlsplit drops the CR LF itself; what is left is quoted
    assert done.headers["Location"] == "/staff/referrals/Set-Cookie%3A%20x%3D1"


def refer(app: Flask) -> str:
    response = app.test_client().post(
        "/api/v1/referrals",
        json={
            "intake": {"difficulties": ["grief"]},
            "contact": {"name": "Sam", "email": "sam@example.org"},
            "consent": True,
        },
    )
    referral_id: str = response.get_json()["id"]
    return referral_id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"status": "booked", "therapist": "t-" + "1" * 60},
            "Booked with: Choose a therapist from the list. Nothing was changed.",
        ),
        (
            {"status": "booked", "therapist": "t-999"},
            "Booked with: Choose a therapist from the list. Nothing was changed.",
        ),
        (
            {"status": "closed", "reason": "x" * (CLOSE_REASON_MAX + 1)},
            "Reason: Longer than maximum length 200. Nothing was changed.",
        ),
        (
            {"status": "closed", "reason": "moved\u202eaway"},
            "Reason: Contains a bidirectional override (U+202E, character 6); only printable "
            "text is accepted. Nothing was changed.",
        ),
        (
            {"status": "x" * 5000},
            "New status: Length must be between 1 and 16. Nothing was changed.",
        ),
    ],
)
def test_a_status_form_past_its_fields_limits_is_a_422_naming_the_field(
    app: Flask, fields: dict[str, str], message: str
) -> None:
    referral_id = refer(app)
    referrals = app.extensions["referrals"]
    referrals.change_status(referral_id, "contacted", "boss", 1)
    client = logged_in(app)
    page = client.get(f"/staff/referrals/{referral_id}").get_data(as_text=True)
    response = client.post(
        f"/staff/referrals/{referral_id}",
        data={"csrf_token": form_token(page), "version": "2", "action": "status", **fields},
    )
    assert response.status_code == 422
    assert f'<p class="error-message" role="alert">{message}</p>' in response.get_data(
        as_text=True
    ).replace("&#39;", "'")
    assert referrals.get(referral_id)["status"] == "contacted"


@pytest.mark.parametrize(
    "path",
    [
        "/staff/referrals/" + "a" * 200,
        "/staff/referrals/" + "a" * 200 + "/export",
        "/staff/referrals/not-an-id",
    ],
)
def test_a_referral_path_that_cannot_be_an_id_is_a_404(app: Flask, path: str) -> None:
    response = logged_in(app).get(path)
    assert response.status_code == 404


def test_posting_to_a_long_referral_path_is_a_404_too(app: Flask) -> None:
    client = logged_in(app)
    token = form_token(client.get("/staff").get_data(as_text=True))
    for path in ("/staff/referrals/" + "a" * 200, "/staff/referrals/" + "a" * 200 + "/erase"):
        response = client.post(path, data={"csrf_token": token, "version": "1", "action": "x"})
        assert response.status_code == 404


@pytest.mark.parametrize(
    "fields",
    [{"username": "n" * 200, "address": "1.2.3.4"}, {"username": "ana", "address": "1" * 65}],
)
def test_an_unlock_past_its_columns_is_a_404(app: Flask, fields: dict[str, str]) -> None:
    client = logged_in(app)
    token = form_token(client.get("/staff/admin").get_data(as_text=True))
    response = client.post("/staff/admin/unlock", data={"csrf_token": token, **fields})
    assert response.status_code == 404


def test_every_limit_a_form_checks_is_the_length_of_its_column() -> None:
    # Checked in the schema, so that SQLite (which keeps any length) and PostgreSQL (which
    # refuses past it) answer the same 4xx.
    assert Referral.__table__.c.close_reason.type.length == CLOSE_REASON_MAX
    assert Referral.__table__.c.therapist_id.type.length == 40
    assert THERAPIST_ID_PATTERN.pattern == r"^[a-z][a-z0-9-]{0,39}$"
    assert Referral.__table__.c.idempotency_key.type.length == 128
    assert StaffAccount.__table__.c.username.type.length == 64
    assert LoginFailure.__table__.c.username.type.length == 64
    assert LoginFailure.__table__.c.address.type.length == MAX_ADDRESS_LENGTH
    assert AuditEvent.__table__.c.actor.type.length == 64
    assert AuditEvent.__table__.c.subject.type.length == 128
