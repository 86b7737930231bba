"""The real service under gunicorn, for tests that talk to it over HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from matcher import PROJECT_ROOT


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    port: int, env: dict[str, str] | None = None, umask: int = -1
) -> subprocess.Popen[str]:
    """Start the service under gunicorn (with `umask` if given); its output goes to a file.

    Not a pipe: a pipe nobody reads fills after 64 KiB of log lines and blocks the workers.
    """
    log = tempfile.NamedTemporaryFile("w", prefix="gunicorn-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group: workers left behind by a killed master can be stopped too.
        start_new_session=True,
        umask=umask,
    )
    log.close()
    process.log_path = log.name  # type: ignore[attr-defined]
    return process


def server_log(process: subprocess.Popen[str]) -> str:
    """Everything the server has written so far."""
    return Path(process.log_path).read_text(encoding="utf-8")  # type: ignore[attr-defined]


@contextlib.contextmanager
def running_server(
    env: dict[str, str] | None = None, umask: int = -1, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start gunicorn, wait until /healthz answers, yield (base URL, process), then stop it."""
    port = port or free_port()
    # Its database and last-good copy in a fresh folder unless the test names one.
    env = {"MATCHER_STATE_DIR": tempfile.mkdtemp(prefix="matcher-state-"), **(env or {})}
    process = start_gunicorn(port, env, umask)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                # Refused before the master listens; a read timeout while the master listens
                # but no worker has finished booting yet (slow on a loaded machine).
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{server_log(process)}")
            time.sleep(0.2)
        yield base, process
    finally:
        stop_server(process)


def stop_server(process: subprocess.Popen[str]) -> None:
    """Stop gunicorn gracefully, then anything left of its process group."""
    process.terminate()
    process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
