"""GET /api/v1/checklist: the questions to ask a therapist, as JSON, for clinics' own pages."""

from __future__ import annotations

from flask import Blueprint, Response, request

from matcher import responses
from matcher.web.held import checklist
from matcher.web.respond import send
from matcher.web.security import limiter, public_limit

bp = Blueprint("checklist_api", __name__)


@bp.get("/api/v1/checklist")
@limiter.limit(public_limit)
def questions() -> Response:
    """Questions to ask, tailored to modalities, format, setting (and languages)."""
    book = checklist()
    return send(book.build(book.tailoring(request.args.to_dict())), responses.Checklist)
