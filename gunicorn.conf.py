"""gunicorn settings for serving matcher (override any with GUNICORN_CMD_ARGS)."""

import os

bind = os.environ.get("MATCHER_BIND", "127.0.0.1:8000")
# durable_rules holds the GIL and is not thread-safe: scale with processes, one thread each.
workers = int(os.environ.get("MATCHER_WORKERS", "2"))
threads = 1
worker_class = "sync"
timeout = int(os.environ.get("MATCHER_TIMEOUT", "30"))
graceful_timeout = 10
# A master restarted after a crash binds its port again, even while the old socket lingers.
reuse_port = True
# gunicorn's control socket defaults to one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn), so
# two instances on one machine would take it over from each other: off unless an instance is
# given its own path (MATCHER_CONTROL_SOCKET=/run/matcher-a/gunicorn.ctl). Reloads use HUP.
control_socket = os.environ.get("MATCHER_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
# Each worker builds its own Matcher (and its own durable_rules host) in create_app().
preload_app = False
# A worker started by a reload (HUP) that finds broken files serves the last good copy.
raw_env = ["MATCHER_KEEP_LAST_GOOD=true", "MATCHER_DATABASE_REQUIRED=false"]
# No access log: its request line would carry query strings, and a FHIR intake's difficulties
# ride in the query. The app logs every request itself, as JSON without content.
accesslog = None
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "matcher.web.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                            "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False},
    },
}


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    """Validate rules and roster in the master: a bad file stops start-up with one message."""
    import sys

    from matcher.errors import ConfigError
    from matcher.web import create_app

    try:
        # A first start on bad files, or with the database out of reach, stops here.
        # No sender in the master: each worker runs its own after the fork.
        checked = create_app(
            {"KEEP_LAST_GOOD": False, "DATABASE_REQUIRED": True, "NOTIFY_IN_SERVICE": False}
        )
    except ConfigError as exc:
        print(f"matcher: cannot start: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    # The workers open their own connections; none of the master's may be shared across fork.
    checked.extensions["referrals"].engine.dispose()


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def post_fork(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """Make the worker die with its master: never left serving unsupervised after a SIGKILL."""
    import ctypes
    import signal
    import sys

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (AttributeError, OSError):  # not Linux: nothing to ask the kernel for
        return
    if prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        print(f"matcher: worker {os.getpid()}: PR_SET_PDEATHSIG failed", file=sys.stderr)
    if os.getppid() != server.pid:
        os._exit(0)  # the master died between the fork and the prctl: the signal never comes
