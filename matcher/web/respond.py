"""Send a JSON body through the type that declares its shape (matcher/responses.py)."""

from __future__ import annotations

from typing import Any

import msgspec
from flask import Response, current_app

JSON = "application/json"


def encode(payload: Any, shape: Any) -> bytes:
    """The body as JSON bytes, checked against its declared shape; keys sorted, so stable.

    A field the shape does not declare, a required one missing or a wrong type raises
    msgspec.ValidationError: the server never sends what its OpenAPI document does not say.
    """
    return msgspec.json.encode(msgspec.convert(payload, shape), order="sorted")


def send(payload: Any, shape: Any, status: int = 200) -> Response:
    """A JSON response whose body went through its declared shape."""
    return current_app.response_class(encode(payload, shape), status=status, mimetype=JSON)
