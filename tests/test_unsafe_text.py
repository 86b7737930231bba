"""Text that cannot be shown is refused at the door, and what is already stored never blinds the queue.

An attacker sends a lone UTF-16 surrogate (valid JSON, not encodable as UTF-8), a control
character or a bidirectional override in a free-text field. Each is a 422 naming the field;
rows written before the check (or straight into the database) still render, replaced.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from matcher import text
from matcher.storage.database import Referral, now
from tests.databases import app_on, close_database
from tests.forms import form_token, staff_logged_in

PASSWORD = "correct horse battery"
UNSAFE = {
    "lone surrogate": ("\ud800X", "U+D800"),
    "bidirectional override": ("Sam\u202eevil", "U+202E"),
    "isolate": ("Sam\u2066", "U+2066"),
    "bell": ("Sam\x07", "U+0007"),
    "newline": ("Sam\nBcc: x", "U+000A"),
    "line separator": ("Sam\u2028", "U+2028"),
}


def referral_body(contact: dict[str, str], city: str = "Madrid") -> bytes:
    body = {
        "intake": {
            "difficulties": ["grief"],
            "preferences": {"format": "in_person", "city": city},
        },
        "contact": contact,
        "consent": True,
    }
    # json.dumps writes a lone surrogate as the escape \ud800: the bytes an attacker sends.
    return json.dumps(body).encode("ascii")


def post_json(client: FlaskClient, path: str, body: bytes) -> Any:
    return client.post(path, data=body, content_type="application/json")


@pytest.fixture()
def app(tmp_path: Path) -> Iterator[Flask]:
    app = app_on(f"sqlite:///{tmp_path / 'm.db'}", tmp_path, SECRET_KEY="k" * 32)
    yield app
    close_database(app)


@pytest.mark.parametrize("kind", sorted(UNSAFE))
@pytest.mark.parametrize("field", ["name", "email", "phone"])
def test_a_referral_with_unsafe_contact_text_is_refused_naming_the_field(
    app: Flask, kind: str, field: str
) -> None:
    text, code_point = UNSAFE[kind]
    contact = {"name": "Sam", "email": "sam@example.org", "phone": "+34 600 000 000"}
    contact[field] = {"name": text, "email": f"sa{text}@example.org", "phone": f"+34{text}"}[field]
    response = post_json(app.test_client(), "/api/v1/referrals", referral_body(contact))
    assert response.status_code == 422
    messages = response.get_json()["errors"][f"contact.{field}"]
    assert any(code_point in m and "only printable text is accepted" in m for m in messages)
    assert app.extensions["referrals"].count() == 0


@pytest.mark.parametrize("kind", sorted(UNSAFE))
def test_an_unsafe_city_is_refused_in_a_referral_and_a_match(app: Flask, kind: str) -> None:
    text, code_point = UNSAFE[kind]
    client = app.test_client()
    contact = {"name": "Sam", "email": "sam@example.org"}
    referral = post_json(client, "/api/v1/referrals", referral_body(contact, city=text))
    assert referral.status_code == 422
    assert code_point in referral.get_json()["errors"]["intake.preferences.city"][0]
    match = post_json(
        client,
        "/api/v1/match",
        json.dumps({"difficulties": ["grief"], "preferences": {"city": text}}).encode(),
    )
    assert match.status_code == 422
    assert code_point in match.get_json()["errors"]["preferences.city"][0]
    assert app.extensions["referrals"].count() == 0


def test_the_web_form_shows_the_refusal_beside_the_contact_field(app: Flask) -> None:
    client = app.test_client()
    token = form_token(client.get("/form").get_data(as_text=True))
    response = client.post(
        "/results",
        data={
            "csrf_token": token,
            "difficulties": "grief",
            "contact_name": "Sam\u202eevil",
            "contact_email": "sam@example.org",
            "consent": "yes",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Contains a bidirectional override (U+202E, character 4)" in html
    assert app.extensions["referrals"].count() == 0


# --- rows already stored ------------------------------------------------------------------------


@pytest.fixture()
def stored_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = app_on(database_url, tmp_path, SECRET_KEY="k" * 32)
    app.extensions["accounts"].add("desk", PASSWORD, "staff", "test")
    app.extensions["accounts"].add("boss", PASSWORD, "admin", "test")
    yield app
    close_database(app)


def write_row(app: Flask, contact: dict[str, str], intake: dict[str, Any]) -> str:
    """A referral written straight into the database, past every check."""
    referral_id = uuid.uuid4().hex
    with Session(app.extensions["referrals"].engine) as session, session.begin():
        session.execute(
            insert(Referral).values(
                id=referral_id,
                created_at=now(),
                status="new",
                urgent=False,
                consent=True,
                intake=json.dumps(intake),
                screening=json.dumps({}),
                matches=json.dumps([{"therapist": "t-001", "score": 1.0}]),
                rules_version="old",
                contact=json.dumps(contact),  # a lone surrogate is kept as its \ud800 escape
                version=1,
            )
        )
    return referral_id


def logged_in(app: Flask, username: str) -> FlaskClient:
    return staff_logged_in(app, username, PASSWORD)


def test_stored_unsafe_text_never_blinds_the_queue(stored_app: Flask) -> None:
    bad_name = write_row(
        stored_app,
        {"name": "\ud800X\u202eY\x07", "email": "a\ud800@example.org", "phone": "\ud800"},
        {"difficulties": ["grief"]},
    )
    bad_city = write_row(
        stored_app,
        {"name": "Ana", "email": "ana@example.org"},
        {"difficulties": ["grief"], "preferences": {"format": "in_person", "city": "\ud800"}},
    )
    desk = logged_in(stored_app, "desk")
    for path in ("/staff/referrals", "/staff/referrals?status=new"):
        queue = desk.get(path)
        assert queue.status_code == 200
        html = queue.get_data(as_text=True)
        assert re.findall(r'id="referral-([0-9a-f]{32})"', html) == [bad_name, bad_city]
        assert "\ufffdX\ufffdY\ufffd</a>" in html
    detail = desk.get(f"/staff/referrals/{bad_name}")
    assert detail.status_code == 200
    assert "Referral from \ufffdX\ufffdY\ufffd" in detail.get_data(as_text=True)
    # The contact as links (tel:, mailto:), the unsafe characters shown as replacements.
    assert '>\ufffd</a> · <a href="mailto:a\ufffd@example.org">a\ufffd@example.org</a>' in (
        detail.get_data(as_text=True)
    )

    def match_again(referral_id: str) -> Any:
        page = desk.get(f"/staff/referrals/{referral_id}").get_data(as_text=True)
        return desk.post(
            f"/staff/referrals/{referral_id}",
            data={"csrf_token": form_token(page), "version": "1", "action": "rematch"},
        )

    again = match_again(bad_name)
    assert again.status_code == 200
    assert "Matched again with today's rules and roster" in again.get_data(as_text=True)
    refused = match_again(bad_city)
    assert refused.status_code == 422
    assert "The answers kept cannot be matched again today (preferences.city)." in (
        refused.get_data(as_text=True)
    )
    export = desk.get(f"/staff/referrals/{bad_name}/export")
    assert (
        export.status_code == 200 and export.get_json()["contact"]["name"] == "\ud800X\u202eY\x07"
    )
    # and an admin can erase it from the page
    boss = logged_in(stored_app, "boss")
    page = boss.get(f"/staff/referrals/{bad_name}").get_data(as_text=True)
    erased = boss.post(
        f"/staff/referrals/{bad_name}/erase",
        data={"csrf_token": form_token(page), "confirm": "erase"},
    )
    assert erased.status_code == 303
    assert stored_app.extensions["referrals"].get(bad_name) is None


def test_a_page_shows_each_refused_character_as_a_replacement_and_every_other_as_it_is() -> None:
    # Over every code point: what a page shows in place of a stored character is what the
    # free-text check says of that same character (tab, newline and carriage return are kept).
    every = "".join(chr(point) for point in range(sys.maxunicode + 1))
    expected = "".join(
        text.REPLACEMENT if c not in text.SHOWN_AS_IS and text.unsafe_character(c) else c
        for c in every
    )
    assert text.displayable(every) == expected
    assert text.displayable("Ana\u202eCalle 1\ttel.\n\u0007") == "Ana\ufffdCalle 1\ttel.\n\ufffd"
