"""schemathesis hooks: requests as a well-behaved client sends them.

A client sends a new Idempotency-Key with each new request (the README says a random UUID);
schemathesis would otherwise reuse short generated keys across different bodies, which the
service rightly refuses (422), and report them as valid requests rejected.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Give every request that carries an Idempotency-Key a key of its own."""
    headers = case.headers or {}
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
        case.headers = headers
