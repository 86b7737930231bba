"""schemathesis against the live server and its own OpenAPI document: no 5xx, and every answer
matches the documented schema, every schema-valid request is accepted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import running_server

# schemathesis against a live gunicorn.
pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 25


HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


@pytest.fixture(scope="module")
def live() -> Iterator[str]:
    # Rate limits on, as in production, raised for a run of a few thousand requests.
    with running_server({"MATCHER_RATE_LIMIT": "100000 per minute"}) as (base, _):
        yield base


def schemathesis(live: str, cwd: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    return subprocess.run(
        [
            command,
            "--no-color",
            "run",
            f"{live}/api/v1/openapi.json",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            "1",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
    )


def test_schemathesis_with_every_check_finds_nothing(live: str, tmp_path: Path) -> None:
    # Every check, "schema-valid data is accepted" included: the rules across fields (a
    # difficulty or a risk signal; an e-mail or a phone; consent unless urgent) are in the
    # document as anyOf, so a schema-valid request is one the service takes.
    result = schemathesis(live, tmp_path, "--checks", "all")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
