"""Real files a test reads or changes on purpose: one way to read them, one way to edit a copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: Path) -> Any:
    """The file parsed as YAML by libyaml (five times faster than PyYAML's own parser)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)  # noqa: S506


def replace_first(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file with `new`; fail the test if `old` is not there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
