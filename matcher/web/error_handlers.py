"""Every failure becomes the same JSON error: code, status, message, and errors by field path."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, make_response, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from matcher import responses
from matcher.errors import IntakeError, UnknownTherapist
from matcher.web.language import request_language
from matcher.web.messages import translated_errors
from matcher.web.respond import send
from matcher.web.risk_gate import safety_block

# The logger name operators filter on, kept when the module moved.
log = logging.getLogger("matcher.api_errors")


def error_response(
    code: int, message: str, errors: dict[str, list[str]] | None = None, **extra: Any
) -> Response:
    """Build the one JSON error shape the API uses (`extra` adds fields, such as a match).

    `message` and `errors` are said in the request's language (Content-Language says which);
    `code`, `status` and the field paths never change.
    """
    request_language()  # decided now, so that Content-Language names it
    body: dict[str, Any] = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors is not None:
        body["errors"] = translated_errors(errors)
    urgent = safety_block()
    if urgent is not None:
        # Whatever is wrong with the request, a person at risk still gets the crisis resources.
        body["safety"] = urgent
    body.update(extra)
    response = send(body, responses.Error, code)
    # An error may echo what was sent (a person's answers): never kept by a browser or proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def database_unavailable(result: dict[str, Any] | None = None) -> Response:
    """The API's 503 when the database fails: nothing stored, when to retry, and any match."""
    response = error_response(
        503,
        gettext("We cannot save requests right now; nothing was stored. Please try again shortly."),
        **({} if result is None else {"result": result}),
    )
    response.headers["Retry-After"] = "30"
    return response


def register_error_handlers(app: Flask) -> None:
    """Install handlers so that no failure reaches a client as HTML or a stack trace."""

    @app.errorhandler(IntakeError)
    def _invalid(exc: IntakeError) -> Response:
        message = gettext("The request is not valid; see errors by field.")
        return error_response(422, message, exc.errors)

    @app.errorhandler(UnknownTherapist)
    def _unknown_therapist(exc: UnknownTherapist) -> Response:
        return error_response(404, gettext("No therapist with id %(id)s.", id=repr(exc.args[0])))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        messages = {
            404: gettext("No such endpoint."),
            405: gettext("Method not allowed on this endpoint."),
            413: gettext(
                "The body is over the limit of %(limit)s bytes.",
                limit=app.config["MAX_CONTENT_LENGTH"],
            ),
            429: gettext(
                "Too many requests from this address (limit: %(limit)s). Try again after the "
                "number of seconds in Retry-After.",
                limit=exc.description,
            ),
        }
        response = error_response(
            code, messages.get(code, exc.description or HTTPStatus(code).phrase)
        )
        if code == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    # The database down, the connection lost mid-request, or no pooled connection free in time.
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def _database_down(exc: SQLAlchemyError) -> Response:
        # Nothing was committed: say so, and when to try again; never a 201, never a 500.
        cause = getattr(exc, "orig", None) or exc
        log.error(json.dumps({"event": "database.unavailable", "error": type(cause).__name__}))
        if not request.path.startswith("/staff"):
            return database_unavailable()
        # Receptionists get a page, not JSON.
        response = make_response(render_template("staff/database_down.html"), 503)
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, gettext("Something went wrong on our side; it has been logged."))
