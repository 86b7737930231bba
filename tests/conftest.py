"""Shared fixtures: the app on the bundled rules and roster, its client, and the Matcher."""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask
from flask.testing import FlaskClient

import tests.examples  # noqa: F401 - registers the quick profile before Hypothesis loads one
from matcher import PROJECT_ROOT, matching, rules, yamlfile
from matcher.matching import Matcher
from matcher.rules import Knowledge
from matcher.storage import accounts, database
from matcher.web import create_app
from tests.clock import TODAY
from tests.databases import PostgresServer, PostgresUnavailable, postgres_for_tests

# Every app and server the suite starts judges expiry by the suite's date, not the calendar's.
os.environ["MATCHER_TODAY"] = TODAY.isoformat()

RULES_DIR = PROJECT_ROOT / "rules"


def pytest_configure(config: pytest.Config) -> None:
    """Compile the gettext catalogs; parse, validate and compile what every app reads once."""
    from matcher.i18n import compile_catalogs

    compile_catalogs()  # .mo files are built, never committed
    yamlfile.yamlfile_parser = _parse_once
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _TemplatesCompiledOnce()}
    # Before the test modules are imported: some read the rules to parametrize their tests.
    rules.load_knowledge = matching.load_knowledge = _load_rules_once


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give load_yaml its own parser back, Flask its own template options, the rules their loader."""
    yamlfile.yamlfile_parser = yamlfile.parse_yaml
    rules.load_knowledge = matching.load_knowledge = _REAL_LOAD_KNOWLEDGE
    Flask.jinja_options = {
        k: v for k, v in Flask.jinja_options.items() if not isinstance(v, _TemplatesCompiledOnce)
    }


_REAL_LOAD_KNOWLEDGE = rules.load_knowledge
_KNOWLEDGE: dict[tuple[str, str], Knowledge] = {}


def _load_rules_once(rules_dir: Path) -> Knowledge:
    """Rules of the same directory name and content are validated once per test process.

    Validating the rules is a third of what building an app costs, and most of the suite's
    apps are built on the bundled rules or an unchanged copy of them. Knowledge is frozen, and
    the key is its own digest of every file, so an edited copy is validated (and refused) anew.
    """
    if not rules_dir.is_dir():
        return _REAL_LOAD_KNOWLEDGE(rules_dir)
    key = (rules_dir.name, rules.rules_digest(rules_dir, rules.rule_files(rules_dir)))
    if key not in _KNOWLEDGE:
        _KNOWLEDGE[key] = _REAL_LOAD_KNOWLEDGE(rules_dir)
    return _KNOWLEDGE[key]


class _TemplatesCompiledOnce(jinja2.BytecodeCache):
    """Each template compiled once per test process, whichever of the suite's apps renders it.

    Every app has its own Jinja environment, which compiles each template the first time it
    renders it: two fifths of a page test's time. Jinja checks the template's source against
    the checksum it stored, so a test that edits a template gets it compiled anew.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill the bucket with the template's code, if it was compiled before."""
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep a template's newly compiled code."""
        self._code[bucket.key] = bucket.bytecode_to_string()


_PARSED: dict[str, bytes] = {}


def _parse_once(text: str) -> Any:
    """The YAML text parsed once per test process; each load gets its own copy.

    Hundreds of tests build an app, and parsing the bundled rules, translations and roster is
    most of what that costs; so do the modules that read the rules to parametrize their tests
    while they are collected. A pickled copy is twenty times cheaper than a parse, and as
    private. Keyed by the text itself, so a test's edited copy of a file is parsed anew.
    """
    if text not in _PARSED:
        _PARSED[text] = pickle.dumps(yamlfile.parse_yaml(text))
    return pickle.loads(_PARSED[text])  # noqa: S301 - our own bytes, from this process


ROSTER = PROJECT_ROOT / "therapists.yaml"


@pytest.fixture(scope="session", autouse=True)
def migrated_sqlite_copies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every app's new SQLite database starts as a copy of one migrated once for the run.

    Running the migrations costs a test a tenth of a second, paid by hundreds of them; the
    copy is then migrated as usual (a no-op at the head), so locks and file modes are the
    real ones. Tests of the migrations themselves call `migrate` directly and are unaffected.
    """
    real_migrate = database.migrate
    template = tmp_path_factory.mktemp("migrated") / "template.db"
    real_migrate(f"sqlite:///{template}", template.parent)
    migrated = template.read_bytes()

    def migrate_from_copy(url: str, lock_dir: Path) -> None:
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if path.name and path.name != ":memory:" and not _holds_data(path):
                database.make_engine(url).dispose()  # creates it empty and private
                if path.exists():  # if not, the real migration says what is wrong
                    path.write_bytes(migrated)
        real_migrate(url, lock_dir)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(database, "migrate", migrate_from_copy)
        yield


def _holds_data(path: Path) -> bool:
    # The app opens its engine (which creates the file, empty) before it migrates: an empty
    # file is a new database as much as a missing one.
    return path.exists() and path.stat().st_size > 0


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Staff passwords hashed with argon2's cheapest parameters inside this test process.

    A real hash costs a tenth of a second of CPU by design, and the suite logs in hundreds of
    times. Servers the tests start as processes (gunicorn) keep the real parameters.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            accounts, "PasswordHasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
        )
        yield


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app built on the bundled rules and roster, once for the session."""
    # Rate limiting has its own tests; here it would only count the suite's requests.
    state = tmp_path_factory.mktemp("state")
    # "/" is the whole form on one page here, as clinics that embed it serve it; the stepped
    # form (the default front page) has its own tests at /find (tests/test_journeys.py).
    return create_app(
        {"TESTING": True, "RATE_LIMIT": "", "STATE_DIR": str(state), "FRONT_PAGE": "single"}
    )


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """A test client for the bundled app."""
    return app.test_client()


@pytest.fixture(scope="session")
def matcher(app: Flask) -> Matcher:
    """The Matcher the bundled app holds."""
    held: Matcher = app.extensions["matcher"]
    return held


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled rules directory, to break on purpose.

    Without the scenarios: the service never reads them, and they are most of the files that a
    hundred and fifty copies would write (and pytest delete) on every run.
    """
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target, ignore=shutil.ignore_patterns("scenarios"))
    return target


@pytest.fixture()
def roster_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled roster."""
    target = tmp_path / "therapists.yaml"
    shutil.copy(ROSTER, target)
    return target


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this run (see tests/databases.py).

    Outside CI a machine without PostgreSQL skips the PostgreSQL half of the database tests,
    saying why; in CI (CI=true) it fails them, so a green CI run always includes PostgreSQL.
    """
    try:
        with postgres_for_tests() as server:
            yield server
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL tests cannot run in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {exc}")


# The PostgreSQL half starts (once a run) a private server: slow, like the servers.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for one test: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'referrals.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.database() as url:
        yield url
