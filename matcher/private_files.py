"""The state folder is the service's alone: 0700, and every file in it 0600, whatever the umask.

It holds the database (referral contacts, safety answers, staff password hashes), its journal
and lock files, and the last good rules. Files the service makes are created private (the
SQLite journal takes the database file's mode); anything found readable by others is reported,
and at start-up put right.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
OTHERS = 0o077  # group and world bits


def _entries(given: Path) -> Iterator[Path]:
    if given.is_symlink() or not given.exists():
        return
    yield given
    if given.is_dir():
        for folder, dirs, files in os.walk(given):  # symlinks are not followed
            for name in (*dirs, *files):
                yield Path(folder) / name


def _open_to_others(paths: list[Path]) -> Iterator[tuple[Path, int, int]]:
    # (path, its mode, the mode it should have) for each folder or file others may use.
    seen: set[Path] = set()
    for given in paths:
        for path in _entries(given):
            if path in seen:
                continue
            seen.add(path)
            with contextlib.suppress(FileNotFoundError):  # a journal gone in the meantime
                info = path.lstat()
                if not stat.S_ISLNK(info.st_mode) and info.st_mode & OTHERS:
                    wanted = PRIVATE_DIR if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE
                    yield path, stat.S_IMODE(info.st_mode), wanted


def loose(paths: list[Path]) -> list[str]:
    """One line per folder or file under `paths` that someone else could read or enter."""
    return [
        f"{path} is {mode:04o}, should be {wanted:04o}"
        for path, mode, wanted in _open_to_others(paths)
    ]


def make_private(paths: list[Path]) -> list[str]:
    """Make folders 0700 and files 0600 under `paths`; one line per change that was needed."""
    fixed = []
    for path, mode, wanted in _open_to_others(paths):
        try:
            path.chmod(mode & ~OTHERS | wanted)
        except OSError as exc:
            fixed.append(f"{path} is {mode:04o} and cannot be made {wanted:04o}: {exc.strerror}")
        else:
            fixed.append(f"{path} was {mode:04o}, now {stat.S_IMODE(path.lstat().st_mode):04o}")
    return fixed


def private_folder(path: Path) -> None:
    """Create `path` (and its parents) as 0700 if it does not exist yet."""
    if not path.exists():
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        path.chmod(PRIVATE_DIR)  # mkdir's mode passes through the umask; chmod does not


def create_private(path: Path) -> None:
    """Create an empty file readable by its owner only, if it does not exist yet."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def open_private(path: Path) -> int:
    """Open a file for writing, emptied, 0600 when new; returns the descriptor."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
