"""GET /api/v1/checklist: the questions to ask a therapist, as JSON, for clinics' own pages."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from matcher.checklist import Checklist
from matcher.web.security import limiter, public_limit

bp = Blueprint("checklist_api", __name__)


def checklist() -> Checklist:
    """The checklist loaded at start-up."""
    loaded: Checklist = current_app.extensions["checklist"]
    return loaded


@bp.get("/api/v1/checklist")
@limiter.limit(public_limit)
def questions() -> Response:
    """Questions to ask, tailored to modalities, format, setting (and languages)."""
    book = checklist()
    return jsonify(book.build(book.tailoring(request.args.to_dict())))
