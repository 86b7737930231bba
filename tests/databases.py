"""Databases for the tests: a real PostgreSQL server (a throwaway cluster of Debian's package,
or your own) beside SQLite files.

`python3 dev.py test` (and so `.ci/run`) installs Debian's `postgresql` package when its programs
are missing; the suite then starts a private cluster in a temporary folder on a free port, owned
by the `postgres` user when the tests run as root (PostgreSQL refuses to run as root), and
removes it at the end. Set MATCHER_TEST_POSTGRES_URL to use a server of your own instead: its
user needs CREATEDB, and every test gets a database of its own that is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy.engine import make_url

from matcher.web import create_app
from tests.servers import free_port


def app_on(database_url: str, state_dir: Path, **config: Any) -> Flask:
    """The app on `database_url` as a worker builds it, rate limits off, `config` on top."""
    return create_app(
        {
            "TESTING": True,
            "RATE_LIMIT": "",
            "LOGIN_RATE_LIMIT": "",
            "STATE_DIR": str(state_dir),
            "DATABASE_URL": database_url,
            **config,
        }
    )


def close_database(app: Flask) -> None:
    """Stop the app's notification sender, then close its connections (its engine's pool)."""
    app.extensions["notifier"].stop()
    app.extensions["referrals"].engine.dispose()


def unreachable_url(database_url: str, tmp_path: Path) -> str:
    """A database URL of the same kind as `database_url` whose server is down."""
    if database_url.startswith("sqlite"):
        # A "database file" that is a directory: every connection fails.
        return f"sqlite:///{tmp_path}"
    return f"postgresql+psycopg://matcher@127.0.0.1:{free_port()}/matcher"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started or reached here; the message says why."""


def _bin_dir() -> Path:
    if os.environ.get("MATCHER_PG_BIN"):
        return Path(os.environ["MATCHER_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major, reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailable(
        "PostgreSQL's initdb is not installed: install Debian's postgresql package "
        "(python3 dev.py test does, as root) or set MATCHER_TEST_POSTGRES_URL"
    )


def _major(initdb: str) -> int:
    version = Path(initdb).parent.parent.name
    return int(version) if version.isdigit() else 0


class PostgresServer:
    """A server the tests may create and drop databases on, reached through `admin_url`."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        url = self.admin_url
        return psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database or "postgres",
            autocommit=True,
        )

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty database for one test; its SQLAlchemy URL; dropped afterwards."""
        name = f"matcher_test_{uuid.uuid4().hex[:12]}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.admin_url.set(
                drivername="postgresql+psycopg", database=name
            ).render_as_string(hide_password=False)
        finally:
            # FORCE: servers a test killed may leave connections behind.
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TemporaryPostgres(PostgresServer):
    """A private cluster in a temporary folder, on a free loopback port."""

    def __init__(self, durable: bool = False) -> None:
        # Tests skip fsync for speed; a benchmark must pay for durable commits like SQLite does.
        self.durable = durable
        self.bin = _bin_dir()
        # Under /tmp when root: the postgres user must reach it, and TMPDIR may be under /root.
        root = "/tmp" if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="matcher-pg-", dir=root))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL will not run as root: the package's postgres user owns the cluster.
            if not shutil.which("runuser"):
                raise PostgresUnavailable("running as root without runuser to become postgres")
            try:
                shutil.chown(self.folder, "postgres", "postgres")
            except LookupError:
                raise PostgresUnavailable(
                    "running as root and there is no postgres user to own the cluster"
                ) from None
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        super().__init__(f"postgresql+psycopg://matcher@127.0.0.1:{self.port}/postgres")

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [*self._as_owner, *command], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = self.folder / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(command[0]).name} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}\n{detail}"
            )

    def start(self) -> None:
        """Create the cluster (user `matcher`, trust on loopback only) and start it."""
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "matcher",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=300" + ("" if self.durable else " -c fsync=off")
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        with contextlib.suppress(PostgresUnavailable):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_for_tests(durable: bool = False) -> Iterator[PostgresServer]:
    """The server named by MATCHER_TEST_POSTGRES_URL, or a temporary one for this run.

    `durable` keeps fsync on in a temporary cluster (for benchmarks); tests leave it off.
    """
    if os.environ.get("MATCHER_TEST_POSTGRES_URL"):
        server = PostgresServer(os.environ["MATCHER_TEST_POSTGRES_URL"])
        try:
            server._admin().close()
        except psycopg.OperationalError as exc:
            raise PostgresUnavailable(f"MATCHER_TEST_POSTGRES_URL: {exc}") from None
        yield server
        return
    temporary = TemporaryPostgres(durable)
    try:
        temporary.start()
        yield temporary
    finally:
        temporary.stop()
