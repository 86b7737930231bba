"""matcher: a therapist-matching rules service. `create_app()` builds the Flask app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: load config, build the Matcher once for this worker, register blueprints."""
    from matcher.api import bp as api_bp
    from matcher.api_errors import register_error_handlers
    from matcher.matching import Matcher
    from matcher.openapi import build_spec
    from matcher.response_cache import ResponseCache

    app = Flask(__name__)
    app.config.from_mapping(
        RULES_DIR=str(PROJECT_ROOT / "rules"),
        ROSTER_PATH=str(PROJECT_ROOT / "therapists.yaml"),
        MAX_CONTENT_LENGTH=64 * 1024,
        # Whole match responses kept per worker (0 turns it off); identical requests reuse them.
        RESPONSE_CACHE_SIZE=1024,
        # ISO 3166-1 alpha-2 country of the clinic: which crisis resources to show.
        LOCALE=None,
    )
    app.config.from_prefixed_env("MATCHER")
    if test_config:
        app.config.from_mapping(test_config)
    app.json.sort_keys = True  # type: ignore[attr-defined]  # same intake, same bytes

    matcher = Matcher.from_files(
        Path(app.config["RULES_DIR"]), Path(app.config["ROSTER_PATH"]), app.config["LOCALE"]
    )
    app.extensions["matcher"] = matcher
    app.extensions["openapi"] = build_spec(matcher, __version__)
    app.extensions["response_cache"] = ResponseCache(app.config["RESPONSE_CACHE_SIZE"])
    register_error_handlers(app)
    app.register_blueprint(api_bp)
    return app
