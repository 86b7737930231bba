"""Real receivers for the clinic's notifications: an SMTP server and a webhook endpoint.

Both run in threads of the test process on loopback ports, and keep everything they receive.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers import free_port


@dataclass
class Mail:
    """One message as the SMTP server received it."""

    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        """The parsed message."""
        parsed: EmailMessage = email.message_from_bytes(self.raw, policy=email.policy.default)
        return parsed

    @property
    def body(self) -> str:
        """The plain-text body, with the line ends of the text (SMTP sends CRLF)."""
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")


@dataclass
class Inbox:
    """An SMTP server's handler: keeps every message, and says when one arrives."""

    mails: list[Mail] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    login_required: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.login_required and not session.authenticated:
            return "530 Authentication required"
        with self.arrived:
            self.mails.append(Mail(list(envelope.rcpt_tos), bytes(envelope.content)))
            self.arrived.notify_all()
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 60) -> list[Mail]:
        """Wait until `count` messages have arrived (or the timeout); the messages so far."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.mails) >= count, timeout)
            return list(self.mails)


@contextlib.contextmanager
def smtp_server(login: tuple[str, str] | None = None) -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server (aiosmtpd) on a free loopback port: (port, inbox).

    With `login` (user, password) it accepts mail only after AUTH with exactly those.
    """
    inbox = Inbox()
    port = free_port()
    extra: dict[str, Any] = {}
    if login is not None:

        def authenticator(server: Any, session: Any, envelope: Any, how: str, data: Any) -> Any:
            given = (data.login.decode(), data.password.decode())
            ok = isinstance(data, LoginPassword) and given == login
            return AuthResult(success=ok, handled=False)

        # Plain AUTH on loopback (the test has no certificate for STARTTLS); DATA is refused
        # unless the session logged in (auth_required with plain AUTH would warn).
        extra = {"authenticator": authenticator, "auth_require_tls": False}
        inbox.login_required = True
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@dataclass
class Received:
    """One webhook request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Hook:
    """What the webhook receiver got, and the status it answers with."""

    requests: list[Received] = field(default_factory=list)
    status: int = 204


@contextlib.contextmanager
def webhook_receiver(port: int | None = None) -> Iterator[tuple[int, Hook]]:
    """A real HTTP server on loopback that records each POST: (port, what it got)."""
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", "0"))
            hook.requests.append(
                Received(self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            self.send_response(hook.status)
            if 300 <= hook.status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet: the test reads `hook`

    server = ThreadingHTTPServer(("127.0.0.1", port or free_port()), Handler)
    # shutdown() waits for the serving loop's next look (half a second by default), per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
