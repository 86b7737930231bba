"""gunicorn.conf.py under attack: a master killed with SIGKILL, two instances on one machine.

Workers left behind by a killed master would go on serving with nobody to restart them, and
hold the port so that a new master cannot bind; gunicorn's control socket has one default path
per user, so a second instance would take over the first one's.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.servers import free_port, running_server

# Every test here starts gunicorn.
pytestmark = pytest.mark.slow


def workers_of(master: int) -> set[int]:
    """The process ids of the master's children (its workers)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text(encoding="ascii")
    return {int(pid) for pid in children.split()}


def alive(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_until(condition: object, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return bool(condition())  # type: ignore[operator]


def test_workers_die_with_a_killed_master_and_a_new_master_binds_the_port() -> None:
    port = free_port()
    with running_server(port=port) as (base, process):
        workers = workers_of(process.pid)
        assert len(workers) == 2
        stop = threading.Event()

        def load() -> None:  # requests in flight while the master dies
            while not stop.is_set():
                try:
                    requests.post(
                        f"{base}/api/v1/match", json={"difficulties": ["grief"]}, timeout=2
                    )
                except requests.RequestException:
                    pass

        # Enough at once that a worker always finds a connection waiting: a sync worker that
        # keeps accepting never looks at whether its master is still there.
        loaders = [threading.Thread(target=load) for _ in range(8)]
        for loader in loaders:
            loader.start()
        try:
            time.sleep(0.5)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            assert wait_until(lambda: not any(alive(pid) for pid in workers)), [
                pid for pid in workers if alive(pid)
            ]
        finally:
            stop.set()
            for loader in loaders:
                loader.join()
    with running_server(port=port) as (again, _):
        assert requests.get(f"{again}/healthz", timeout=5).status_code == 200


def test_two_instances_never_share_a_control_socket(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # gunicorn's own default would be this user's $XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl
    plain = {"HOME": str(home), "XDG_RUNTIME_DIR": ""}
    with running_server(plain), running_server(plain):
        assert list(home.rglob("*.ctl")) == []
    sockets = [tmp_path / "a" / "gunicorn.ctl", tmp_path / "b" / "gunicorn.ctl"]
    with (
        running_server({**plain, "MATCHER_CONTROL_SOCKET": str(sockets[0])}),
        running_server({**plain, "MATCHER_CONTROL_SOCKET": str(sockets[1])}),
    ):
        for path in sockets:
            assert stat.S_ISSOCK(path.stat().st_mode)
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(path))  # each instance answers on its own
