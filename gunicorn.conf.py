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
