"""gunicorn settings for serving matcher (override any with GUNICORN_CMD_ARGS)."""

import os

bind = os.environ.get("MATCHER_BIND", "127.0.0.1:8000")
# durable_rules holds the GIL and is not thread-safe: scale with processes, one thread each.
workers = int(os.environ.get("MATCHER_WORKERS", "2"))
threads = 1
worker_class = "sync"
timeout = int(os.environ.get("MATCHER_TIMEOUT", "30"))
graceful_timeout = 10
# Each worker builds its own Matcher (and its own durable_rules host) in create_app().
preload_app = False
accesslog = "-"
errorlog = "-"


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    """Validate rules and roster in the master: a bad file stops start-up with one message."""
    import sys

    from matcher import create_app
    from matcher.errors import ConfigError

    try:
        create_app()
    except ConfigError as exc:
        print(f"matcher: cannot start: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
