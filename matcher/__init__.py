"""matcher: a therapist-matching rules service. `matcher.web.create_app()` builds the Flask app.

Only the version and the paths live here: importing a domain module (matcher.rules,
matcher.matching, ...) must load no Flask, Werkzeug or SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
