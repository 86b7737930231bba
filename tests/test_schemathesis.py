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

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def live() -> Iterator[str]:
    with running_server({"MATCHER_RATE_LIMIT": ""}) as (base, _):
        yield base


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    live: str, tmp_path: Path
) -> None:
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    result = subprocess.run(
        [
            command,
            "--no-color",
            "run",
            f"{live}/api/v1/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
