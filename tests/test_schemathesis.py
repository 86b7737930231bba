"""schemathesis against the live server and its own OpenAPI document: no 5xx, and every answer
matches the documented schema, every schema-valid request is accepted."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def live() -> Iterator[str]:
    with running_server({"MATCHER_RATE_LIMIT": ""}) as (base, _):
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
    )


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    live: str, tmp_path: Path
) -> None:
    result = schemathesis(live, tmp_path, "--checks", "all", "--exclude-path", "/api/v1/referrals")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_schemathesis_on_referrals_with_every_check_but_one(live: str, tmp_path: Path) -> None:
    # Every check but "schema-valid data is accepted": a request without consent is
    # schema-valid and still refused (422) unless the intake is urgent, a rule across
    # fields the OpenAPI document states in words only.
    result = schemathesis(
        live,
        tmp_path,
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--include-path",
        "/api/v1/referrals",
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
