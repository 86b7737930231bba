"""Form tokens: every form carries a token tied to the visitor's session cookie.

A page on another site can make a browser post to our forms, but it cannot read the token.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session


def csrf_token() -> str:
    """This session's form token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def token_ok() -> bool:
    """Whether the posted form carries this session's token."""
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(sent.encode(), str(expected).encode())
