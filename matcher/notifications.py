"""Telling the clinic about urgent referrals: settings, messages, signing, retry policy, sending.

Nothing here knows Flask or the database: the outbox (matcher/outbox.py) stores what to send and
calls `deliver` for each notification. No message carries personal data or intake content: only
that an urgent referral arrived, when, its acknowledgement deadline, its id and the staff link.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from matcher.errors import ConfigError

URGENT_REFERRAL = "urgent_referral"
URGENT_OVERDUE = "urgent_overdue"
KINDS = (URGENT_REFERRAL, URGENT_OVERDUE)
EMAIL = "email"
WEBHOOK = "webhook"
CHANNELS = (EMAIL, WEBHOOK)
TLS_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}

# Retries wait 30 s, 1, 2, 4, 8 min, then every 15 min, for as long as it takes: a notification
# about a person at risk is never given up on.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(minutes=15)
# How long a sender holds a claimed notification: far longer than one send may take (the
# timeouts below), so a live sender keeps it; a sender that died releases it when this ends.
CLAIM_LEASE = timedelta(minutes=2)
SEND_TIMEOUT_S = 10
# A receiver should refuse a webhook whose timestamp is further than this from its own clock.
SIGNATURE_TOLERANCE_S = 300
SIGNATURE_HEADER = "X-Matcher-Signature"
TIMESTAMP_HEADER = "X-Matcher-Timestamp"
EVENT_ID_HEADER = "X-Matcher-Event-Id"
LAST_ERROR_LENGTH = 200
# Secrets are taken as written: from_prefixed_env would read "12345" as a number, "true" as
# a boolean and "null" as nothing.
VERBATIM_SETTINGS = ("SMTP_USERNAME", "SMTP_PASSWORD", "WEBHOOK_SECRET", "WEBHOOK_URL")


@dataclass(frozen=True)
class Smtp:
    """Where and how to send e-mail, and to whom."""

    host: str
    port: int
    tls: str
    username: str | None
    password: str | None = field(repr=False)
    sender: str
    to: tuple[str, ...]
    escalation_to: tuple[str, ...]


@dataclass(frozen=True)
class Webhook:
    """Where to POST events, and the secret that signs them."""

    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class NotifySettings:
    """The configured channels, the acknowledgement deadline, and how urgent floods are grouped."""

    smtp: Smtp | None = None
    webhook: Webhook | None = None
    public_url: str = ""
    ack_minutes: int = 30
    group_minutes: int = 10
    interval_s: float = 30.0
    in_service: bool = True

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels that are configured, in a fixed order."""
        return tuple(
            name
            for name, configured in ((EMAIL, self.smtp), (WEBHOOK, self.webhook))
            if configured is not None
        )

    def link(self, referral_id: str) -> str:
        """The staff console's page for one referral."""
        return f"{self.public_url}/staff/referrals/{referral_id}"


def _addresses(name: str, value: Any) -> tuple[str, ...]:
    # A JSON list (MATCHER_NOTIFY_TO='["a@x", "b@x"]') or a comma-separated string.
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    addresses = tuple(str(item).strip() for item in items if str(item).strip())
    for address in addresses:
        if "@" not in address or any(c.isspace() for c in address):
            raise ConfigError(f"MATCHER_{name}", f"{address!r} is not an e-mail address")
    return addresses


def _whole(name: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high:
        raise ConfigError(
            f"MATCHER_{name}", f"{value!r} is not a whole number from {low} to {high}"
        )
    return number


def _smtp(config: Mapping[str, Any]) -> Smtp | None:
    host = str(config.get("SMTP_HOST") or "").strip()
    if not host:
        return None
    tls = str(config.get("SMTP_TLS") or "starttls").strip().lower()
    if tls not in TLS_MODES:
        raise ConfigError("MATCHER_SMTP_TLS", f"{tls!r} is not one of {', '.join(TLS_MODES)}")
    port = config.get("SMTP_PORT")
    to = _addresses("NOTIFY_TO", config.get("NOTIFY_TO"))
    if not to:
        raise ConfigError("MATCHER_NOTIFY_TO", "needed with MATCHER_SMTP_HOST: who is told")
    sender = _addresses("NOTIFY_FROM", config.get("NOTIFY_FROM"))
    if len(sender) != 1:
        raise ConfigError("MATCHER_NOTIFY_FROM", "needed with MATCHER_SMTP_HOST: one address")
    username = str(config.get("SMTP_USERNAME") or "") or None
    password = str(config.get("SMTP_PASSWORD") or "") or None
    if password and not username:
        raise ConfigError("MATCHER_SMTP_USERNAME", "needed with MATCHER_SMTP_PASSWORD")
    return Smtp(
        host=host,
        port=DEFAULT_PORTS[tls] if port in (None, "") else _whole("SMTP_PORT", port, 1, 65535),
        tls=tls,
        username=username,
        password=password,
        sender=sender[0],
        to=to,
        escalation_to=_addresses("ESCALATION_TO", config.get("ESCALATION_TO")) or to,
    )


def _webhook(config: Mapping[str, Any]) -> Webhook | None:
    url = str(config.get("WEBHOOK_URL") or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        # Never echo the URL: a webhook URL often carries a token.
        raise ConfigError("MATCHER_WEBHOOK_URL", "must be an http:// or https:// URL")
    secret = str(config.get("WEBHOOK_SECRET") or "")
    if len(secret) < 16:
        raise ConfigError(
            "MATCHER_WEBHOOK_SECRET",
            "needed with MATCHER_WEBHOOK_URL, at least 16 characters: it signs every event",
        )
    return Webhook(url=url, secret=secret)


def settings_from(config: Mapping[str, Any]) -> NotifySettings:
    """Read the notification settings from configuration keys without the MATCHER_ prefix."""
    interval = config.get("NOTIFY_INTERVAL", 30)
    try:
        interval_s = float(interval)
    except (TypeError, ValueError):
        interval_s = 0.0
    if not 0.05 <= interval_s <= 3600:
        raise ConfigError("MATCHER_NOTIFY_INTERVAL", f"{interval!r} is not 0.05 to 3600 seconds")
    in_service = config.get("NOTIFY_IN_SERVICE", True)
    return NotifySettings(
        smtp=_smtp(config),
        webhook=_webhook(config),
        public_url=str(config.get("PUBLIC_URL") or "").strip().rstrip("/"),
        ack_minutes=_whole("URGENT_ACK_MINUTES", config.get("URGENT_ACK_MINUTES", 30), 1, 1440),
        group_minutes=_whole(
            "URGENT_GROUP_MINUTES", config.get("URGENT_GROUP_MINUTES", 10), 0, 1440
        ),
        interval_s=interval_s,
        in_service=in_service not in (False, "false", "0", 0, "no"),
    )


def ack_deadline(created_at: datetime, ack_minutes: int) -> datetime:
    """When an urgent referral created at `created_at` must have been acknowledged."""
    return created_at + timedelta(minutes=ack_minutes)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: doubling, capped at 15 min."""
    doubled = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 16))
    return min(doubled, LONGEST_RETRY)


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """A keyed sha256 of `value` (HMAC): comparable between requests, unreadable without the key."""
    return hmac.new(secret.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Notice:
    """One notification to deliver: what happened to which referral, and when."""

    notification_id: int
    kind: str
    channel: str
    referral_id: str
    created_at: datetime
    ack_deadline: datetime | None


def _utc(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "not set"


def event_body(notice: Notice, settings: NotifySettings) -> bytes:
    """The webhook's JSON event: ids, times and the staff link, never personal data."""
    event = {
        "event": notice.kind,
        "event_id": f"{notice.kind}-{notice.notification_id}",
        "referral_id": notice.referral_id,
        "link": settings.link(notice.referral_id),
        "created_at": notice.created_at.isoformat(),
        "ack_deadline": notice.ack_deadline.isoformat() if notice.ack_deadline else None,
        "overdue": notice.kind == URGENT_OVERDUE,
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: sha256=HMAC-SHA256(secret, timestamp + "." + body), hex."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signature_ok(
    secret: str, timestamp: str, body: bytes, signature: str, at: float | None = None
) -> bool:
    """Whether a received webhook is genuine and recent: what a receiver checks."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if at is None else at) - sent) > SIGNATURE_TOLERANCE_S:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def email_message(notice: Notice, settings: NotifySettings) -> EmailMessage:
    """The e-mail for one notice: that an urgent referral arrived or is overdue, and the link."""
    smtp = settings.smtp
    if smtp is None:
        raise ValueError("an e-mail notification needs MATCHER_SMTP_HOST")
    link = settings.link(notice.referral_id)
    message = EmailMessage()
    if notice.kind == URGENT_OVERDUE:
        message["Subject"] = (
            f"OVERDUE: urgent referral not acknowledged by {_utc(notice.ack_deadline)}"
        )
        recipients = smtp.escalation_to
        opening = (
            "An urgent referral has not been acknowledged by its deadline.\n\n"
            f"Arrived: {_utc(notice.created_at)}\n"
            f"Deadline: {_utc(notice.ack_deadline)} (passed)\n"
        )
    else:
        message["Subject"] = f"Urgent referral: acknowledge by {_utc(notice.ack_deadline)}"
        recipients = smtp.to
        opening = (
            "An urgent referral has arrived.\n\n"
            f"Arrived: {_utc(notice.created_at)}\n"
            f"Acknowledge by: {_utc(notice.ack_deadline)}\n"
        )
    message["From"] = smtp.sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(notice.created_at)
    # The same id on every attempt, so a message sent twice (a sender that died after sending)
    # is recognised as one by mail clients.
    domain = smtp.sender.rpartition("@")[2]
    local = f"{notice.kind}.{notice.notification_id}.{notice.referral_id}"
    message["Message-ID"] = f"<{local}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        opening
        + f"Referral: {notice.referral_id}\n"
        + f"Open it (staff login needed): {link}\n\n"
        + "This message carries no personal details; they are in the staff console only.\n"
    )
    return message


class DeliveryFailed(RuntimeError):
    """A send failed; the message is safe to store and show (no addresses, URLs or content)."""


def _send_email(message: EmailMessage, smtp: Smtp) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.tls == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=SEND_TIMEOUT_S, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=SEND_TIMEOUT_S)
    with client:
        if smtp.tls == "starttls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(message)


def send_to_person(message: EmailMessage, smtp: Smtp) -> None:
    """Send one message a person asked for (their results); DeliveryFailed, safe to show, if not."""
    try:
        _send_email(message, smtp)
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        raise DeliveryFailed(_describe(exc)) from None


def _post_webhook(body: bytes, webhook: Webhook, event_id: str, at: float) -> None:
    timestamp = str(int(at))
    request = urllib.request.Request(
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "matcher-notify",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
            EVENT_ID_HEADER: event_id,
        },
    )
    with _NO_REDIRECTS.open(request, timeout=SEND_TIMEOUT_S) as response:
        response.read(1024)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a 301/302/303 as a GET without the body, and its 200 would count as
    # delivered: a redirect is a failed delivery, retried like any other.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


def _describe(exc: BaseException) -> str:
    # Built from codes and types only: a driver's message may quote the webhook URL (often
    # holding a token) or an address, and last_error is shown on the admin page.
    if isinstance(exc, urllib.error.HTTPError):
        return f"the webhook answered HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        detail = reason.strerror if isinstance(reason, OSError) else None
        why = f"{type(reason).__name__}: {detail or 'no detail'}"
        return f"the webhook could not be reached ({why})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the SMTP server refused ({type(exc).__name__}, code {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "the SMTP server refused every recipient"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or 'no detail'}"
    return type(exc).__name__


def deliver(notice: Notice, settings: NotifySettings, at: float | None = None) -> None:
    """Send one notice on its channel; DeliveryFailed (safe to store) when it did not go."""
    try:
        if notice.channel == EMAIL:
            if settings.smtp is None:
                raise DeliveryFailed("e-mail is no longer configured (MATCHER_SMTP_HOST)")
            _send_email(email_message(notice, settings), settings.smtp)
        elif notice.channel == WEBHOOK:
            if settings.webhook is None:
                raise DeliveryFailed("the webhook is no longer configured (MATCHER_WEBHOOK_URL)")
            body = event_body(notice, settings)
            event_id = f"{notice.kind}-{notice.notification_id}"
            _post_webhook(body, settings.webhook, event_id, time.time() if at is None else at)
        else:
            raise DeliveryFailed(f"unknown channel {notice.channel!r}")
    except DeliveryFailed:
        raise
    except (OSError, http.client.HTTPException, smtplib.SMTPException, ValueError) as exc:
        raise DeliveryFailed(_describe(exc)[:LAST_ERROR_LENGTH]) from exc
