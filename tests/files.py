"""Real files changed on purpose by a test: one way to edit a copy of rules or roster."""

from __future__ import annotations

from pathlib import Path


def replace_first(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file with `new`; fail the test if `old` is not there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
