"""Shared fixtures: the app on the bundled rules and roster, its client, and the Matcher."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher import PROJECT_ROOT, create_app
from matcher.matching import Matcher

RULES_DIR = PROJECT_ROOT / "rules"
ROSTER = PROJECT_ROOT / "therapists.yaml"


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app built on the bundled rules and roster, once for the session."""
    # Rate limiting has its own tests; here it would only count the suite's requests.
    state = tmp_path_factory.mktemp("state")
    return create_app({"TESTING": True, "RATE_LIMIT": "", "STATE_DIR": str(state)})


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
    """A writable copy of the bundled rules directory, to break on purpose."""
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target


@pytest.fixture()
def roster_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled roster."""
    target = tmp_path / "therapists.yaml"
    shutil.copy(ROSTER, target)
    return target
