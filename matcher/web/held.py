"""What this worker holds for its views: the Matcher and the checklist, loaded at start-up."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app
from werkzeug.wrappers import Response as BaseResponse

from matcher.checklist import Checklist
from matcher.matching import Matcher

AnyResponse = TypeVar("AnyResponse", bound=BaseResponse)


def matcher() -> Matcher:
    """The Matcher this worker holds."""
    held: Matcher = current_app.extensions["matcher"]
    return held


def checklist() -> Checklist:
    """The questions-to-ask checklist loaded at start-up."""
    loaded: Checklist = current_app.extensions["checklist"]
    return loaded


def no_store(response: AnyResponse) -> AnyResponse:
    """Mark an answer about someone's health: never kept by a browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response
