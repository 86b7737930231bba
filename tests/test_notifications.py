"""Urgent referrals reach a person: e-mail and a signed webhook, retried until they go, escalated.

A real SMTP server (aiosmtpd) and a real HTTP receiver run in the test; time is passed to the
sender's pass (`run_once(now=...)`), never slept through.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.notifications import retry_delay, settings_from, signature_ok
from matcher.storage.database import make_engine
from matcher.storage.outbox import Notifier, Outbox, PassResult
from tests.databases import app_on, close_database
from tests.forms import form_token
from tests.receivers import Hook, Inbox, smtp_server, webhook_receiver
from tests.servers import free_port, running_server

PERSON = {"name": "Robin Quill", "email": "robin.quill@example.org", "phone": "+44 20 7946 0123"}
URGENT = {
    "difficulties": ["depression"],
    "risk": {"self_harm_thoughts": True},
    "screening": {"phq9": [2, 2, 3, 2, 1, 2, 2, 1, 2]},
    "preferences": {"format": "in_person", "city": "Tarragona"},
}
GRIEF = {"difficulties": ["grief"], "preferences": {"format": "online"}}
# Words of the person's contact and answers that must never leave in a notification.
PERSONAL = [
    "Robin",
    "Quill",
    "robin.quill",
    "7946",
    "depression",
    "Tarragona",
    "self_harm",
    "phq9",
    "in_person",
]
SECRET = "webhook-secret-" + "s" * 24
PUBLIC_URL = "https://matcher.clinic.example"
PASSWORD = "correct horse battery"


def channel_config(
    smtp_port: int | None = None, webhook_url: str | None = None, **more: Any
) -> dict[str, Any]:
    """Settings for the channels given (e-mail to a desk and an on-call address, a webhook)."""
    config: dict[str, Any] = {"PUBLIC_URL": PUBLIC_URL, "NOTIFY_IN_SERVICE": False}
    if smtp_port is not None:
        config |= {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp_port,
            "SMTP_TLS": "none",
            "NOTIFY_FROM": "matcher@clinic.example",
            "NOTIFY_TO": "desk@clinic.example",
            "ESCALATION_TO": "oncall@clinic.example",
        }
    if webhook_url is not None:
        config |= {"WEBHOOK_URL": webhook_url, "WEBHOOK_SECRET": SECRET}
    return config | more


@pytest.fixture()
def mail() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as server:
        yield server


@pytest.fixture()
def hook() -> Iterator[tuple[int, Hook]]:
    with webhook_receiver() as receiver:
        yield receiver


@contextlib.contextmanager
def clinic(database_url: str, state: Path, **config: Any) -> Iterator[Flask]:
    """The app with these settings, its connections closed afterwards."""
    app = app_on(database_url, state, SECRET_KEY="notify-" + "k" * 32, **config)
    try:
        yield app
    finally:
        close_database(app)


@pytest.fixture()
def app(
    tmp_path: Path, database_url: str, mail: tuple[int, Inbox], hook: tuple[int, Hook]
) -> Iterator[Flask]:
    """The app with both channels configured; nobody sends until the test runs a pass."""
    with clinic(
        database_url, tmp_path, **channel_config(mail[0], f"http://127.0.0.1:{hook[0]}/hook")
    ) as app:
        yield app


def refer(
    app: Flask, intake: dict[str, Any] = URGENT, address: str = "198.51.100.7", **contact: str
) -> str:
    response = app.test_client().post(
        "/api/v1/referrals",
        json={"intake": intake, "contact": {**PERSON, **contact}, "consent": True},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    referral_id: str = response.get_json()["id"]
    return referral_id


def notifier(app: Flask) -> Notifier:
    held: Notifier = app.extensions["notifier"]
    return held


def outbox(app: Flask) -> Outbox:
    return notifier(app).outbox


def created_at(app: Flask, referral_id: str) -> datetime:
    moment: datetime = app.extensions["referrals"].get(referral_id)["created_at"]
    return moment


def test_a_new_urgent_referral_is_committed_with_one_notification_per_channel(
    app: Flask,
) -> None:
    urgent = refer(app)
    assert [(n["kind"], n["channel"], n["attempts"], n["sent_at"]) for n in
            outbox(app).of_referral(urgent)] == [
        ("urgent_referral", "email", 0, None),
        ("urgent_referral", "webhook", 0, None),
    ]  # fmt: skip
    assert outbox(app).of_referral(refer(app, GRIEF)) == []


def test_only_the_configured_channels_are_enqueued(
    tmp_path: Path, database_url: str, mail: tuple[int, Inbox]
) -> None:
    with clinic(database_url, tmp_path, **channel_config(mail[0])) as app:
        urgent = refer(app)
        assert [n["channel"] for n in outbox(app).of_referral(urgent)] == ["email"]


def test_the_email_says_an_urgent_referral_arrived_with_its_deadline_and_link_and_nothing_personal(
    app: Flask, mail: tuple[int, Inbox]
) -> None:
    urgent = refer(app)
    arrived = created_at(app, urgent)
    assert notifier(app).run_once() == PassResult(sent=2, failed=0, escalated=0)
    [received] = mail[1].mails
    deadline = (arrived + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M UTC")
    assert received.recipients == ["desk@clinic.example"]
    assert received.message["Subject"] == f"Urgent referral: acknowledge by {deadline}"
    assert received.message["From"] == "matcher@clinic.example"
    assert received.message["Auto-Submitted"] == "auto-generated"
    assert received.body == (
        "An urgent referral has arrived.\n\n"
        f"Arrived: {arrived:%Y-%m-%d %H:%M} UTC\n"
        f"Acknowledge by: {deadline}\n"
        f"Referral: {urgent}\n"
        f"Open it (staff login needed): {PUBLIC_URL}/staff/referrals/{urgent}\n\n"
        "This message carries no personal details; they are in the staff console only.\n"
    )
    whole = received.raw.decode().lower()
    assert [word for word in PERSONAL if word.lower() in whole] == []
    assert all(n["sent_at"] is not None for n in outbox(app).of_referral(urgent))


def test_the_email_is_sent_after_logging_in_when_a_username_is_set(
    tmp_path: Path, database_url: str
) -> None:
    with smtp_server(login=("matcher", "12345")) as (port, inbox):
        wrong = channel_config(port, SMTP_USERNAME="matcher", SMTP_PASSWORD="54321")
        with clinic(database_url, tmp_path, **wrong) as app:
            urgent = refer(app)
            assert notifier(app).run_once().failed == 1
            [refused] = outbox(app).of_referral(urgent)
            assert refused["last_error"] == (
                "the SMTP server refused (SMTPAuthenticationError, code 535)"
            )
        right = channel_config(port, SMTP_USERNAME="matcher", SMTP_PASSWORD="12345")
        with clinic(database_url, tmp_path, **right) as app:
            later = refused["next_attempt_at"]
            assert notifier(app).run_once(now=later).sent == 1
        assert [m.recipients for m in inbox.mails] == [["desk@clinic.example"]]


def test_the_webhook_carries_ids_times_and_the_link_only_and_its_signature_verifies(
    app: Flask, hook: tuple[int, Hook]
) -> None:
    urgent = refer(app)
    arrived = created_at(app, urgent)
    notifier(app).run_once()
    [received] = hook[1].requests
    assert received.path == "/hook"
    assert received.headers["Content-Type"] == "application/json"
    event = json.loads(received.body)
    assert event == {
        "event": "urgent_referral",
        "event_id": event["event_id"],
        "referral_id": urgent,
        "link": f"{PUBLIC_URL}/staff/referrals/{urgent}",
        "created_at": arrived.isoformat(),
        "ack_deadline": (arrived + timedelta(minutes=30)).isoformat(),
        "overdue": False,
    }
    assert received.headers["X-Matcher-Event-Id"] == event["event_id"]
    # What a receiver does: HMAC-SHA256 over timestamp "." body with the shared secret.
    timestamp = received.headers["X-Matcher-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256)
    assert received.headers["X-Matcher-Signature"] == "sha256=" + expected.hexdigest()
    assert signature_ok(SECRET, timestamp, received.body, received.headers["X-Matcher-Signature"])
    assert not signature_ok("another secret", timestamp, received.body, expected.hexdigest())
    assert not signature_ok(
        SECRET, timestamp, received.body + b" ", received.headers["X-Matcher-Signature"]
    )
    assert [w for w in PERSONAL if w.lower() in received.body.decode().lower()] == []


def test_a_receiver_that_is_down_gets_the_retry_with_backoff_and_then_receives_it_once(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()  # nothing listens here yet
    with clinic(
        database_url, tmp_path, **channel_config(webhook_url=f"http://127.0.0.1:{port}/")
    ) as app:
        urgent = refer(app)
        start = created_at(app, urgent) + timedelta(seconds=1)
        first = notifier(app).run_once(now=start)
        assert (first.sent, first.failed) == (0, 1)
        [waiting] = outbox(app).of_referral(urgent)
        assert waiting["attempts"] == 1 and waiting["sent_at"] is None
        assert waiting["next_attempt_at"] == start + timedelta(seconds=30)
        assert waiting["last_error"] == (
            "the webhook could not be reached (ConnectionRefusedError: Connection refused)"
        )
        with webhook_receiver(port) as (_, hook):
            early = notifier(app).run_once(now=start + timedelta(seconds=29))
            assert (early.sent, early.failed, hook.requests) == (0, 0, [])
            due = notifier(app).run_once(now=start + timedelta(seconds=30))
            assert (due.sent, due.failed) == (1, 0)
            later = notifier(app).run_once(now=start + timedelta(minutes=10))
            assert (later.sent, later.failed) == (0, 0)
            assert len(hook.requests) == 1
            assert json.loads(hook.requests[0].body)["referral_id"] == urgent
        [sent] = outbox(app).of_referral(urgent)
        assert sent["attempts"] == 2 and sent["last_error"] is None
        assert sent["sent_at"] == start + timedelta(seconds=30)


def test_a_channel_that_fails_is_left_for_the_next_pass_while_the_others_go_on(
    app: Flask, mail: tuple[int, Inbox], hook: tuple[int, Hook]
) -> None:
    hook[1].status = 503
    first = refer(app, address="192.0.2.1")
    second = refer(app, address="192.0.2.2")
    done = notifier(app).run_once()
    assert (done.sent, done.failed) == (2, 1)
    assert len(mail[1].mails) == 2 and len(hook[1].requests) == 1
    webhooks = [outbox(app).of_referral(r)[1]["attempts"] for r in (first, second)]
    assert webhooks == [1, 0]
    hook[1].status = 204
    retried = notifier(app).run_once(now=created_at(app, second) + timedelta(minutes=1))
    assert (retried.sent, retried.failed) == (2, 0)


def test_a_receiver_answering_errors_is_retried_with_growing_waits_forever(
    app: Flask, hook: tuple[int, Hook]
) -> None:
    hook[1].status = 500
    urgent = refer(app)
    # Acknowledged, so that no escalation joins in while the waits grow past its deadline.
    app.extensions["referrals"].acknowledge(urgent, "desk", 1)
    moment = created_at(app, urgent)
    waits = []
    for _ in range(8):
        notifier(app).run_once(now=moment)
        webhook = outbox(app).of_referral(urgent)[1]
        waits.append(int((webhook["next_attempt_at"] - moment).total_seconds()))
        moment = webhook["next_attempt_at"]
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]
    assert webhook["last_error"] == "the webhook answered HTTP 500"
    assert webhook["attempts"] == 8 and webhook["sent_at"] is None
    hook[1].status = 204
    assert notifier(app).run_once(now=moment).sent == 1


def test_a_webhook_that_redirects_has_not_received_the_event_and_is_retried(
    app: Flask, hook: tuple[int, Hook]
) -> None:
    hook[1].status = 302
    urgent = refer(app)
    assert notifier(app).run_once().failed == 1
    webhook = outbox(app).of_referral(urgent)[1]
    assert (webhook["last_error"], webhook["sent_at"]) == ("the webhook answered HTTP 302", None)
    assert [r.path for r in hook[1].requests] == ["/hook"]


def test_the_retry_policy_doubles_from_30_seconds_up_to_15_minutes() -> None:
    assert [int(retry_delay(n).total_seconds()) for n in (1, 2, 3, 4, 5, 6, 7, 100)] == [
        30, 60, 120, 240, 480, 900, 900, 900,
    ]  # fmt: skip


def test_an_urgent_referral_not_acknowledged_by_its_deadline_is_escalated_once(
    app: Flask, mail: tuple[int, Inbox], hook: tuple[int, Hook]
) -> None:
    urgent = refer(app)
    acknowledged = refer(app, address="192.0.2.50", email="other@example.org")
    app.extensions["referrals"].acknowledge(acknowledged, "desk", 1)
    arrived = created_at(app, urgent)
    before = notifier(app).run_once(now=arrived + timedelta(minutes=29, seconds=59))
    assert (before.sent, before.escalated) == (4, 0)
    at_deadline = notifier(app).run_once(now=arrived + timedelta(minutes=30, seconds=1))
    assert (at_deadline.sent, at_deadline.escalated) == (2, 1)
    again = notifier(app).run_once(now=arrived + timedelta(hours=3))
    assert (again.sent, again.escalated) == (0, 0)
    overdue = [m for m in mail[1].mails if m.recipients == ["oncall@clinic.example"]]
    assert len(overdue) == 1
    deadline = (arrived + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M UTC")
    assert (
        overdue[0].message["Subject"] == f"OVERDUE: urgent referral not acknowledged by {deadline}"
    )
    assert f"{PUBLIC_URL}/staff/referrals/{urgent}" in overdue[0].body
    events = [json.loads(r.body) for r in hook[1].requests]
    assert [(e["event"], e["referral_id"], e["overdue"]) for e in events if e["overdue"]] == [
        ("urgent_overdue", urgent, True)
    ]
    stored = app.extensions["referrals"].get(urgent)
    assert stored["escalated_at"] == arrived + timedelta(minutes=30, seconds=1)
    assert app.extensions["referrals"].get(acknowledged)["escalated_at"] is None


def test_the_deadline_is_configurable(
    tmp_path: Path, database_url: str, mail: tuple[int, Inbox]
) -> None:
    with clinic(database_url, tmp_path, **channel_config(mail[0], URGENT_ACK_MINUTES=5)) as app:
        urgent = refer(app)
        arrived = created_at(app, urgent)
        assert app.extensions["referrals"].get(urgent)["ack_deadline"] == arrived + timedelta(
            minutes=5
        )
        assert notifier(app).run_once(now=arrived + timedelta(minutes=5)).escalated == 1


def test_two_senders_on_one_outbox_deliver_each_notification_exactly_once(
    app: Flask, database_url: str, mail: tuple[int, Inbox], hook: tuple[int, Hook]
) -> None:
    referrals = [refer(app, address=f"203.0.113.{n}") for n in range(12)]
    senders = [Notifier(Outbox(make_engine(database_url), outbox(app).settings)) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def send(index: int) -> None:
        barrier.wait()
        results[index] = senders[index].run_once()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sender in senders:
        sender.outbox.engine.dispose()
    assert sum(r.sent for r in results) == 24 and sum(r.failed for r in results) == 0
    mailed = [m.body.split("Referral: ")[1].split("\n")[0] for m in mail[1].mails]
    assert sorted(mailed) == sorted(referrals)
    hooked = [json.loads(r.body)["referral_id"] for r in hook[1].requests]
    assert sorted(hooked) == sorted(referrals)


def test_a_flood_of_near_identical_urgent_referrals_from_one_source_notifies_once(
    app: Flask, mail: tuple[int, Inbox]
) -> None:
    flood = [refer(app, address="198.51.100.66", name=f"Fake {n}") for n in range(30)]
    assert app.extensions["referrals"].count() == 30
    assert [len(outbox(app).of_referral(r)) for r in flood] == [2] + [0] * 29
    elsewhere = refer(app, address="192.0.2.1")
    assert len(outbox(app).of_referral(elsewhere)) == 2
    assert notifier(app).run_once().sent == 4


def test_erasing_a_referral_removes_its_notifications(app: Flask) -> None:
    urgent = refer(app)
    assert app.extensions["referrals"].erase(urgent, "admin")
    assert outbox(app).of_referral(urgent) == []
    assert notifier(app).run_once().sent == 0


def desk_session(app: Flask, username: str) -> Any:
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    client.post(
        "/staff/login",
        data={"username": username, "password": PASSWORD, "csrf_token": form_token(page)},
    )
    return client


def test_the_admin_page_shows_notifications_failing_with_their_attempts_and_last_error(
    tmp_path: Path, database_url: str
) -> None:
    down = f"http://127.0.0.1:{free_port()}/hook"
    with clinic(database_url, tmp_path, **channel_config(webhook_url=down)) as app:
        urgent = refer(app)
        notifier(app).run_once()
        notifier(app).run_once(now=created_at(app, urgent) + timedelta(minutes=1))
        app.extensions["accounts"].add("boss", PASSWORD, "admin", "test")
        html = desk_session(app, "boss").get("/staff/admin").get_data(as_text=True)
        assert "Urgent referrals notify by webhook." in html
        assert "0 sent, 0 waiting to be sent, 1 failing (retried until they go)." in html
        row = html.split('id="unsent-notifications"')[1].split("</tr>")[1]
        assert f'href="/staff/referrals/{urgent}"' in row
        assert "<td><code>urgent_referral</code></td><td><code>webhook</code></td>" in row
        assert "<td>2</td>" in row
        # The sender's error as it wrote it, marked as English on a page in any language.
        assert (
            'FAILING: <span lang="en">the webhook could not be reached '
            "(ConnectionRefusedError: Connection refused)</span>" in row
        )


def test_the_services_own_sender_delivers_an_urgent_referral_without_anyone_running_a_command(
    tmp_path: Path, database_url: str, mail: tuple[int, Inbox]
) -> None:
    # A pass an hour apart: only the wake-up on commit can deliver it while the test waits.
    config = channel_config(mail[0], NOTIFY_IN_SERVICE=True, NOTIFY_INTERVAL=3600)
    with clinic(database_url, tmp_path, **config) as app:
        urgent = refer(app)
        [received] = mail[1].wait_for(1)
        assert f"/staff/referrals/{urgent}" in received.body


def test_a_mail_server_that_is_down_never_fails_the_persons_request(
    tmp_path: Path, database_url: str
) -> None:
    config = channel_config(free_port(), NOTIFY_IN_SERVICE=True, NOTIFY_INTERVAL=3600)
    with clinic(database_url, tmp_path, **config) as app:
        response = app.test_client().post(
            "/api/v1/referrals",
            json={"intake": URGENT, "contact": PERSON, "consent": False},
        )
        assert response.status_code == 201
        assert response.get_json()["urgent"] is True
        [kept] = outbox(app).of_referral(response.get_json()["id"])
        assert kept["sent_at"] is None


def test_without_any_channel_the_start_up_warns_that_urgent_referrals_notify_nobody(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="matcher")
    with clinic(database_url, tmp_path) as app:
        urgent = refer(app)
        assert outbox(app).of_referral(urgent) == []
    warned = [json.loads(r.getMessage()) for r in caplog.records if "notify" in r.getMessage()]
    assert {"event": "notify.no_channel", "message": (
        "urgent referrals notify nobody: set MATCHER_SMTP_HOST and MATCHER_NOTIFY_TO, "
        "or MATCHER_WEBHOOK_URL and MATCHER_WEBHOOK_SECRET"
    )} in warned  # fmt: skip


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"WEBHOOK_URL": "https://hooks.example/T0KEN"},
            "MATCHER_WEBHOOK_SECRET: needed with MATCHER_WEBHOOK_URL, at least 16 characters: "
            "it signs every event",
        ),
        (
            {"WEBHOOK_URL": "ftp://hooks.example/T0KEN", "WEBHOOK_SECRET": SECRET},
            "MATCHER_WEBHOOK_URL: must be an http:// or https:// URL",
        ),
        (
            {"SMTP_HOST": "mail", "NOTIFY_FROM": "m@clinic.example"},
            "MATCHER_NOTIFY_TO: needed with MATCHER_SMTP_HOST: who is told",
        ),
        (
            {"SMTP_HOST": "mail", "NOTIFY_TO": "desk@clinic.example"},
            "MATCHER_NOTIFY_FROM: needed with MATCHER_SMTP_HOST: one address",
        ),
        (
            {"SMTP_HOST": "mail", "SMTP_TLS": "tls", "NOTIFY_TO": "d@c.example"},
            "MATCHER_SMTP_TLS: 'tls' is not one of starttls, ssl, none",
        ),
        (
            {"SMTP_HOST": "mail", "NOTIFY_TO": "desk", "NOTIFY_FROM": "m@clinic.example"},
            "MATCHER_NOTIFY_TO: 'desk' is not an e-mail address",
        ),
        (
            {"URGENT_ACK_MINUTES": 0},
            "MATCHER_URGENT_ACK_MINUTES: 0 is not a whole number from 1 to 1440",
        ),
        (
            {"NOTIFY_INTERVAL": "soon"},
            "MATCHER_NOTIFY_INTERVAL: 'soon' is not 0.05 to 3600 seconds",
        ),
    ],
)
def test_notification_settings_that_cannot_work_stop_start_up_naming_the_setting(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from(config)
    assert str(raised.value) == message
    assert "T0KEN" not in str(raised.value)


def test_settings_read_addresses_as_a_list_or_comma_separated_and_default_the_port() -> None:
    settings = settings_from(
        {
            "SMTP_HOST": "mail.clinic.example",
            "SMTP_TLS": "ssl",
            "NOTIFY_FROM": "matcher@clinic.example",
            "NOTIFY_TO": "desk@clinic.example, lead@clinic.example",
            "ESCALATION_TO": ["oncall@clinic.example"],
            "SMTP_USERNAME": "matcher",
            "SMTP_PASSWORD": "12345",
        }
    )
    assert settings.smtp is not None
    assert (settings.smtp.port, settings.smtp.to, settings.smtp.escalation_to) == (
        465,
        ("desk@clinic.example", "lead@clinic.example"),
        ("oncall@clinic.example",),
    )
    assert "12345" not in repr(settings)
    assert settings.channels == ("email",)


def notify_command(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "matcher", "notify", "--once"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.slow
def test_two_notify_commands_at_once_on_one_database_send_each_notification_once(
    tmp_path: Path, database_url: str, mail: tuple[int, Inbox]
) -> None:
    config = channel_config(mail[0])
    with clinic(database_url, tmp_path, **config) as app:
        referrals = [refer(app, address=f"203.0.113.{n}") for n in range(10)]
    env = {f"MATCHER_{k}": str(v) for k, v in config.items() if k != "NOTIFY_IN_SERVICE"}
    env |= {"MATCHER_DATABASE_URL": database_url, "MATCHER_STATE_DIR": str(tmp_path)}
    barrier = threading.Barrier(2)
    done: list[Any] = [None, None]

    def run(index: int) -> None:
        barrier.wait()
        done[index] = notify_command(env)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    sent = sorted(int(d.stdout.split("sent ")[1].split(",")[0]) for d in done)
    assert sum(sent) == 10
    mailed = [m.body.split("Referral: ")[1].split("\n")[0] for m in mail[1].mails]
    assert sorted(mailed) == sorted(referrals)
    again = notify_command(env)
    assert again.stdout == "matcher notify: sent 0, failed 0 (will be retried), escalated 0\n"


@pytest.mark.slow
def test_the_notify_command_fails_a_pass_with_failed_sends_so_a_timer_reports_it(
    tmp_path: Path, database_url: str
) -> None:
    config = channel_config(free_port())
    with clinic(database_url, tmp_path, **config) as app:
        refer(app)
    env = {f"MATCHER_{k}": str(v) for k, v in config.items() if k != "NOTIFY_IN_SERVICE"}
    env |= {"MATCHER_DATABASE_URL": database_url, "MATCHER_STATE_DIR": str(tmp_path)}
    failed = notify_command(env)
    assert failed.returncode == 1
    assert failed.stdout == "matcher notify: sent 0, failed 1 (will be retried), escalated 0\n"


@pytest.mark.slow
def test_two_instances_each_with_its_own_senders_deliver_every_urgent_referral_once(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, mail: tuple[int, Inbox]
) -> None:
    # Two gunicorn instances, two workers each: four senders, woken by each commit and passing
    # every half second, all on one outbox.
    config = channel_config(mail[0], NOTIFY_INTERVAL=0.5, URGENT_GROUP_MINUTES=0)
    env = {f"MATCHER_{k}": str(v) for k, v in config.items() if k != "NOTIFY_IN_SERVICE"}
    env |= {"MATCHER_DATABASE_URL": database_url, "MATCHER_RATE_LIMIT": ""}
    created = []
    with contextlib.ExitStack() as stack:
        bases = [
            stack.enter_context(
                running_server({**env, "MATCHER_STATE_DIR": str(tmp_path_factory.mktemp("s"))})
            )[0]
            for _ in range(2)
        ]
        for n in range(12):
            response = requests.post(
                f"{bases[n % 2]}/api/v1/referrals",
                json={"intake": URGENT, "contact": PERSON, "consent": True},
                timeout=30,
            )
            assert response.status_code == 201
            created.append(response.json()["id"])
        assert len(mail[1].wait_for(12)) >= 12
        engine = make_engine(database_url)
        deadline = time.monotonic() + 60
        try:
            while (pending := Outbox(engine, settings_from(config)).counts())["sent"] < 12:
                if time.monotonic() > deadline:
                    pytest.fail(f"not every notification was marked sent: {pending}")
                mail[1].wait_for(13, timeout=0.2)
            assert pending == {"sent": 12, "pending": 0, "failing": 0}
        finally:
            engine.dispose()
    # Every sender has stopped with its server: nothing more can arrive.
    mailed = [m.body.split("Referral: ")[1].split("\n")[0] for m in mail[1].mails]
    assert sorted(mailed) == sorted(created)


def test_urgent_referrals_stored_before_the_outbox_get_the_default_deadline_and_are_escalated(
    tmp_path: Path, database_url: str, mail: tuple[int, Inbox]
) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from matcher.storage.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "0004")
    engine = make_engine(database_url)
    arrived = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            for referral_id, urgent in (("a" * 32, True), ("b" * 32, False)):
                connection.execute(
                    text(
                        "INSERT INTO referrals (id, created_at, status, urgent, consent, "
                        "rules_version, contact, version) VALUES (:id, :at, 'new', :urgent, "
                        "true, 'v', '{}', 1)"
                    ),
                    {"id": referral_id, "at": arrived, "urgent": urgent},
                )
    finally:
        engine.dispose()
    with clinic(database_url, tmp_path, **channel_config(mail[0])) as app:
        referrals = app.extensions["referrals"]
        assert referrals.get("a" * 32)["ack_deadline"] == arrived + timedelta(minutes=30)
        assert referrals.get("b" * 32)["ack_deadline"] is None
        assert notifier(app).run_once().escalated == 1
        [overdue] = mail[1].mails
        assert overdue.recipients == ["oncall@clinic.example"]
        assert f"Referral: {'a' * 32}" in overdue.body
