"""Referrals: stored once, only after commit, urgent ones marked, consent respected."""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine

from matcher.storage.accounts import Accounts
from matcher.storage.referrals import Referrals
from tests.databases import app_on, close_database, unreachable_url
from tests.forms import form_token
from tests.servers import running_server

CONTACT = {"name": "Sam", "email": "sam@example.org", "preferred": "email"}
INTAKE = {"difficulties": ["grief"], "preferences": {"format": "online"}}
URGENT = {"difficulties": ["depression"], "risk": {"self_harm_thoughts": True}}


@pytest.fixture()
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = app_on(database_url, tmp_path)
    yield app
    close_database(app)


def post(app: Flask, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return app.test_client().post("/api/v1/referrals", json=body, headers=headers)


def test_a_referral_is_stored_with_its_matches_and_rules_version(app: Flask) -> None:
    response = post(app, {"intake": INTAKE, "contact": CONTACT, "consent": True})
    assert response.status_code == 201
    body = response.get_json()
    assert body["urgent"] is False and body["status"] == "new"
    assert body["message"] == "Thank you. Someone from the clinic will contact you by email."
    stored = app.extensions["referrals"].get(body["id"])
    assert stored["intake"] == INTAKE and stored["contact"] == CONTACT
    assert stored["rules_version"] == body["result"]["rules_version"]
    assert [m["therapist"] for m in stored["matches"]] == [
        m["therapist"]["id"] for m in body["result"]["matches"]
    ]


def test_a_retry_with_the_same_key_gets_the_same_referral_also_after_a_restart(
    app: Flask, tmp_path: Path, database_url: str
) -> None:
    body = {"intake": INTAKE, "contact": CONTACT, "consent": True}
    first = post(app, body, "retry-123")
    again = post(app, body, "retry-123")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    restarted = app_on(database_url, tmp_path)
    assert post(restarted, body, "retry-123").get_json()["id"] == first.get_json()["id"]
    close_database(restarted)
    assert app.extensions["referrals"].count() == 1


def test_concurrent_submissions_are_each_stored_once(app: Flask) -> None:
    body = {"intake": INTAKE, "contact": CONTACT, "consent": True}
    ids: list[str] = []
    lock = threading.Lock()

    def submit(key: str) -> None:
        response = post(app, body, key)
        with lock:
            ids.append(response.get_json()["id"])

    threads = [threading.Thread(target=submit, args=(f"k-{n % 10}",)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 30 and len(set(ids)) == 10
    assert app.extensions["referrals"].count() == 10


def test_an_urgent_intake_with_contact_is_stored_urgent_and_says_someone_will_call(
    app: Flask,
) -> None:
    response = post(app, {"intake": URGENT, "contact": CONTACT, "consent": True})
    body = response.get_json()
    assert response.status_code == 201 and body["urgent"] is True
    assert body["message"].startswith("A person from the clinic will be in touch with you")
    assert body["result"]["alerts"][0]["level"] == "urgent"


def test_without_consent_only_an_urgent_request_is_kept_and_only_what_safety_needs(
    app: Flask,
) -> None:
    refused = post(app, {"intake": INTAKE, "contact": CONTACT, "consent": False})
    assert refused.status_code == 422 and "consent" in refused.get_json()["errors"]
    kept = post(app, {"intake": URGENT, "contact": CONTACT, "consent": False})
    assert kept.status_code == 201
    stored = app.extensions["referrals"].get(kept.get_json()["id"])
    assert stored["urgent"] is True and stored["intake"] is None and stored["matches"] is None
    assert stored["contact"] == CONTACT


def test_an_anonymous_urgent_match_invites_a_way_to_reach_the_person(app: Flask) -> None:
    body = app.test_client().post("/api/v1/match", json=URGENT).get_json()
    assert body["alerts"][0]["level"] == "urgent"
    assert body["safety"]["follow_up"].startswith("We cannot contact you from this answer alone.")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"intake": INTAKE, "contact": {"name": "Sam"}, "consent": True}, "contact.email"),
        (
            {"intake": {"difficulties": ["x"]}, "contact": CONTACT, "consent": True},
            "intake.difficulties.0",
        ),
        ({"intake": INTAKE, "contact": CONTACT, "consent": "yes"}, "consent"),
        (
            {"intake": INTAKE, "contact": {**CONTACT, "email": "not an email"}, "consent": True},
            "contact.email",
        ),
    ],
)
def test_bad_requests_name_the_field_and_store_nothing(
    app: Flask, body: dict[str, Any], field: str
) -> None:
    response = post(app, body)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert app.extensions["referrals"].count() == 0


@pytest.fixture()
def down(tmp_path: Path, database_url: str) -> Flask:
    """The app as a worker (re)started during a database outage builds it."""
    return app_on(
        unreachable_url(database_url, tmp_path),
        tmp_path,
        DATABASE_REQUIRED=False,
        SECRET_KEY="k" * 32,
    )


def test_a_database_that_is_down_gives_503_with_retry_after_never_201(down: Flask) -> None:
    response = post(down, {"intake": INTAKE, "contact": CONTACT, "consent": True})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    body = response.get_json()
    assert body["message"] == (
        "We cannot save requests right now; nothing was stored. Please try again shortly."
    )
    assert body["result"]["safety"]["urgent"] is False and body["result"]["matches"]
    assert "X-Safety-Event-Id" not in response.headers
    assert down.test_client().post("/api/v1/match", json=INTAKE).status_code == 200


def test_an_urgent_referral_that_cannot_be_saved_still_carries_the_crisis_resources(
    down: Flask,
) -> None:
    response = post(down, {"intake": URGENT, "contact": CONTACT, "consent": True})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    result = response.get_json()["result"]
    assert result["alerts"][0]["level"] == "urgent" and result["safety"]["urgent"] is True
    assert result["safety"]["message"] and result["safety"]["emergency_number"]
    assert response.get_json()["safety"] == result["safety"]
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Safety-Event-Id"])


def test_an_urgent_form_sent_while_the_database_is_down_still_shows_crisis_help_first(
    down: Flask,
) -> None:
    client = down.test_client()
    page = client.get("/form").get_data(as_text=True)
    response = client.post(
        "/results",
        data={
            "csrf_token": form_token(page),
            "difficulties": "depression",
            "self_harm_thoughts": "yes",
            "contact_name": "Eli",
            "contact_phone": "+44 20 7946 0000",
        },
    )
    html = response.get_data(as_text=True)
    # 200: a proxy that swaps 5xx pages for its own would hide the crisis resources.
    assert response.status_code == 200 and response.headers["X-Safety-Event-Id"]
    assert html.index('class="crisis') < html.index('id="referral-not-saved"')
    assert (
        "We could not save your request just now, so the clinic has not received it and "
        "nothing was stored. Please send the form again in a few minutes, or contact the "
        "clinic directly." in html
    )
    assert 'id="results-title"' in html  # the matches are still shown


def test_the_staff_console_says_when_the_database_is_down_as_a_page(down: Flask) -> None:
    response = down.test_client().get("/staff/referrals")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.mimetype == "text/html"
    assert "<h1>The referral database cannot be reached</h1>" in response.get_data(as_text=True)


def test_no_free_database_connection_gives_503_not_500(app: Flask, database_url: str) -> None:
    # Every pooled connection busy (here: the only one, held), as under a flood of requests.
    tight = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    held = tight.connect()
    working = app.extensions["accounts"], app.extensions["referrals"]
    app.extensions["accounts"], app.extensions["referrals"] = Accounts(tight), Referrals(tight)
    try:
        page = app.test_client().get("/staff/referrals")
        saved = post(app, {"intake": URGENT, "contact": CONTACT, "consent": True})
    finally:
        app.extensions["accounts"], app.extensions["referrals"] = working
        held.close()
        tight.dispose()
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert saved.status_code == 503 and saved.get_json()["result"]["safety"]["urgent"] is True


def test_readiness_says_whether_the_database_answers(app: Flask, down: Flask) -> None:
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "database": "ok"}
    unavailable = down.test_client().get("/readyz")
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "30"
    assert unavailable.get_json() == {"status": "unavailable", "database": "unavailable"}
    assert down.test_client().get("/healthz").status_code == 200  # alive: matching works


@pytest.mark.slow
def test_a_server_killed_right_after_201_still_has_the_referral(
    tmp_path: Path, database_url: str
) -> None:
    env = {
        "MATCHER_STATE_DIR": str(tmp_path),
        "MATCHER_RATE_LIMIT": "",
        "MATCHER_DATABASE_URL": database_url,
    }
    body = {"intake": INTAKE, "contact": CONTACT, "consent": True}
    with running_server(env) as (base, process):
        created = requests.post(f"{base}/api/v1/referrals", json=body, timeout=10)
        assert created.status_code == 201
        # Master and workers at once, as the kernel's OOM killer would: no graceful shutdown.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with running_server(env) as (base, _):
        again = requests.post(
            f"{base}/api/v1/referrals", json=body, timeout=10, headers={"Idempotency-Key": "unused"}
        )
        assert again.status_code == 201
    restarted = app_on(database_url, tmp_path)
    assert restarted.extensions["referrals"].get(created.json()["id"]) is not None
    assert restarted.extensions["referrals"].count() == 2
    close_database(restarted)


def test_an_idempotency_key_belongs_to_the_client_that_sent_it(app: Flask) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    ana = {"intake": INTAKE, "contact": {**CONTACT, "name": "Ana"}, "consent": True}
    ben = {"intake": INTAKE, "contact": {**CONTACT, "name": "Ben"}, "consent": True}
    client = app.test_client()
    first = client.post("/api/v1/referrals", json=ana, headers=headers)
    other = client.post(
        "/api/v1/referrals", json=ben, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )
    retry = client.post("/api/v1/referrals", json=ana, headers=headers)
    assert (first.status_code, other.status_code, retry.status_code) == (201, 201, 200)
    assert retry.get_json()["id"] == first.get_json()["id"] != other.get_json()["id"]
    stored = app.extensions["referrals"]
    assert stored.get(other.get_json()["id"])["contact"]["name"] == "Ben"
    assert stored.count() == 2


def submission_of(page: str) -> str:
    found = re.search(r'name="submission_id" value="([0-9a-f]{32})"', page)
    assert found, "the form carries no submission id"
    return found.group(1)


def test_the_form_sent_again_makes_one_referral_and_changed_answers_a_new_one(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/form").get_data(as_text=True)
    form = {
        "csrf_token": form_token(page),
        "submission_id": submission_of(page),
        "difficulties": "grief",
        "contact_name": "Ana",
        "contact_email": "ana@example.org",
        "consent": "yes",
    }
    sent = [client.post("/results", data=form) for _ in range(3)]
    assert [r.status_code for r in sent] == [200, 200, 200]
    stored = app.extensions["referrals"]
    assert stored.count() == 1
    assert (
        client.get("/form").get_data(as_text=True).count(form["submission_id"]) == 0
    )  # a new form, a new id
    changed = client.post("/results", data={**form, "difficulties": "stress"})
    assert changed.status_code == 200 and stored.count() == 2


def test_a_referral_keeps_the_language_its_person_used(app: Flask) -> None:
    body = {
        "intake": INTAKE,
        "contact": {"name": "Lucía", "email": "lucia@example.org", "preferred": "email"},
        "consent": True,
    }
    answer = app.test_client().post(
        "/api/v1/referrals", json=body, headers={"Accept-Language": "es"}
    )
    assert answer.status_code == 201 and answer.headers["Content-Language"] == "es"
    stored = app.extensions["referrals"].get(answer.get_json()["id"])
    assert stored["language"] == "es"
