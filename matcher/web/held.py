"""What this worker holds for its views: the Matcher and the checklist, loaded at start-up."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app, has_request_context
from werkzeug.wrappers import Response as BaseResponse

from matcher.checklist import Checklist
from matcher.matching import Matcher

AnyResponse = TypeVar("AnyResponse", bound=BaseResponse)


def matcher() -> Matcher:
    """The Matcher this worker holds, speaking the language of the request."""
    from matcher.web.language import request_language

    held: Matcher = current_app.extensions["matcher"]
    return held.in_language(request_language()) if has_request_context() else held


def checklist() -> Checklist:
    """The questions-to-ask checklist loaded at start-up, in the language of the request."""
    from matcher.web.language import request_language

    loaded: Checklist = current_app.extensions["checklist"]
    if not has_request_context():
        return loaded
    language = request_language()
    return loaded.in_language(language, matcher().knowledge.vocabulary)


def no_store(response: AnyResponse) -> AnyResponse:
    """Mark an answer about someone's health: never kept by a browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response
