"""schemathesis hooks: requests as a well-behaved client sends them.

A client sends a new Idempotency-Key with each new request (the README says a random UUID);
schemathesis would otherwise reuse short generated keys across different bodies, which the
service rightly refuses (422), and report them as valid requests rejected.
A client names as `main_difficulty` one of the `difficulties` it sends (the OpenAPI document
cannot say "one of that list" without a schema that takes schemathesis minutes to satisfy).
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


def _main_among_difficulties(intake: Any) -> None:
    if isinstance(intake, dict) and "main_difficulty" in intake:
        chosen = intake.get("difficulties")
        if isinstance(chosen, list) and chosen and intake["main_difficulty"] not in chosen:
            intake["main_difficulty"] = chosen[0]
        elif not (isinstance(chosen, list) and chosen):
            del intake["main_difficulty"]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Give every request that carries an Idempotency-Key a key of its own; send a main
    difficulty only as one of the difficulties chosen, as the form does."""
    headers = case.headers or {}
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
        case.headers = headers
    body = case.body
    if isinstance(body, dict):
        _main_among_difficulties(body)
        _main_among_difficulties(body.get("intake"))
