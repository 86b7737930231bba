"""Security headers on every response, CORS for the listed clinic origins, and rate limits."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from matcher.text import displayable
from matcher.web.risk_gate import SAFETY_EVENT_HEADER

# No inline script or style anywhere: pages load /static files only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def public_limit() -> str:
    """The rate limit on public endpoints, from configuration (MATCHER_RATE_LIMIT)."""
    return str(current_app.config["RATE_LIMIT"])


def login_limit() -> str:
    """The rate limit on staff logins per client address (MATCHER_LOGIN_RATE_LIMIT)."""
    return str(current_app.config["LOGIN_RATE_LIMIT"])


LOGIN_ENDPOINT = "staff.login"


@limiter.request_filter
def _switched_off() -> bool:
    # Each limit has its own setting: turning off the public one ("") leaves logins limited.
    setting = "LOGIN_RATE_LIMIT" if request.endpoint == LOGIN_ENDPOINT else "RATE_LIMIT"
    return not current_app.config[setting]


def shown(value: Any) -> Any:
    """What a template prints for `value`: text that can always be sent, never a failed page."""
    if isinstance(value, Markup):
        return Markup(displayable(str(value)))
    if isinstance(value, str):
        return displayable(value)
    return value


BODY_PROBLEM = "matcher.body_problem"


class ChunkedBodyGuard:
    """Read a body sent without Content-Length (chunked) up front, within the size limit.

    Werkzeug stops reading such a body at MAX_CONTENT_LENGTH and hands the view what it got,
    truncated; and a malformed chunk raises from the server's reader in the middle of a view.
    Here the body is read whole first: over the limit, or unreadable, the request is marked so
    that it is answered 413 or 400 before any view runs.
    """

    def __init__(self, wsgi_app: Any, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Buffer a chunked body (or mark why it cannot be), then call the app."""
        limit = self.app.config["MAX_CONTENT_LENGTH"]
        chunked = environ.get("CONTENT_LENGTH") in (None, "")
        if chunked and environ.get("wsgi.input_terminated") and limit is not None:
            try:
                body = environ["wsgi.input"].read(int(limit) + 1)
            except Exception:  # the server's own parse errors, whatever their type
                environ[BODY_PROBLEM], body = 400, b""
            if len(body) > limit:
                environ[BODY_PROBLEM], body = 413, b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.wsgi_app(environ, start_response)


def install(app: Flask) -> None:
    """Add headers, CORS and rate limiting to the app, as its configuration says."""
    # Every {{ ... }} in every template: what was stored before the boundary refused such text
    # (a lone surrogate, an override) is shown replaced, never a UnicodeEncodeError (500).
    app.jinja_env.finalize = shown
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind a reverse proxy, the client's address is in X-Forwarded-For.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.wsgi_app = ChunkedBodyGuard(app.wsgi_app, app)  # type: ignore[method-assign]

    @app.before_request
    def _refuse_unreadable_body() -> None:
        problem = request.environ.get(BODY_PROBLEM)
        if problem == 413:
            raise RequestEntityTooLarge()
        if problem == 400:
            raise BadRequest("The request body could not be read: its chunked encoding is broken.")

    origins = app.config["CORS_ORIGINS"]
    if isinstance(origins, str):
        origins = [o.strip() for o in origins.split(",") if o.strip()]
    CORS(
        app,
        resources={r"/api/*": {"origins": origins}},
        methods=["GET", "POST"],
        allow_headers=["Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", SAFETY_EVENT_HEADER, "Retry-After"],
        max_age=600,
    )
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["RATE_LIMIT_STORAGE_URI"])
    # Always on: which limits apply is decided per request (_switched_off), from this app's
    # settings; the limiter is one object shared by every app built in this process.
    app.config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
