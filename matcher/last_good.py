"""Keep a copy of the last rules and roster that loaded, to serve when a reload finds them broken.

A worker that starts after the files changed (gunicorn's HUP, a restarted worker) and finds them
invalid serves this copy instead, and says why in /healthz; a first start on bad files still
stops, in gunicorn's master, before any worker runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from matcher.private_files import make_private, open_private, private_folder

POINTER = "last-good"


def save(state_dir: Path, version: str, rules_dir: Path, roster_path: Path) -> None:
    """Copy the rules and roster that just loaded, as version `version`, unless already kept."""
    target = state_dir / f"{POINTER}-{version}"
    pointer = state_dir / POINTER
    if pointer.exists() and pointer.read_text(encoding="utf-8").strip() == target.name:
        return
    private_folder(state_dir)
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=state_dir))
        shutil.copytree(rules_dir, staging / "rules")
        shutil.copy2(roster_path, staging / roster_path.name)
        make_private([staging])  # the copies keep the sources' modes (0644) otherwise
        try:
            staging.rename(target)
        except OSError:  # another worker kept the same version first
            shutil.rmtree(staging, ignore_errors=True)
    temporary = state_dir / f".{POINTER}.{os.getpid()}"
    with os.fdopen(open_private(temporary), "w", encoding="utf-8") as written:
        written.write(target.name)
    os.replace(temporary, pointer)
    for old in state_dir.glob(f"{POINTER}-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)


def find(state_dir: Path) -> tuple[Path, Path] | None:
    """The rules directory and roster file last kept, or None."""
    pointer = state_dir / POINTER
    if not pointer.exists():
        return None
    kept = state_dir / pointer.read_text(encoding="utf-8").strip()
    rosters = [p for p in kept.iterdir() if p.is_file()] if kept.is_dir() else []
    if not (kept / "rules").is_dir() or len(rosters) != 1:
        return None
    return kept / "rules", rosters[0]
