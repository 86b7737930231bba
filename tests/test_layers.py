"""The three layers stay apart: the domain imports neither web nor storage code, nor their
frameworks; storage never imports the web; only matcher/engine.py knows durable_rules."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from matcher import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "matcher"
# Entry points wire the layers together, so they are no layer of their own.
ENTRY_POINTS = {"__main__.py", "cli.py"}
DOMAIN = sorted(p for p in PACKAGE.glob("*.py") if p.name not in ENTRY_POINTS)
STORAGE = sorted((PACKAGE / "storage").rglob("*.py"))
WEB_FRAMEWORKS = ("flask", "flask_cors", "flask_limiter", "werkzeug", "markupsafe", "apispec")
STORAGE_FRAMEWORKS = ("sqlalchemy", "alembic")


def module_name(path: Path) -> str:
    """The dotted name of a module file under the project root."""
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function, relative ones resolved."""
    names: set[str] = set()
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def breaking(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    """The imports of `path` that are, or are inside, one of the forbidden packages."""
    return sorted(
        name
        for name in imported(path)
        if any(name == top or name.startswith(f"{top}.") for top in forbidden)
    )


@pytest.mark.parametrize("path", DOMAIN, ids=[p.name for p in DOMAIN])
def test_a_domain_module_imports_no_web_and_no_storage_code(path: Path) -> None:
    forbidden = (*WEB_FRAMEWORKS, *STORAGE_FRAMEWORKS, "matcher.web", "matcher.storage")
    assert breaking(path, forbidden) == []


@pytest.mark.parametrize("path", STORAGE, ids=[str(p.relative_to(PACKAGE)) for p in STORAGE])
def test_storage_never_imports_the_web(path: Path) -> None:
    assert breaking(path, (*WEB_FRAMEWORKS, "matcher.web")) == []


def test_only_the_engine_module_imports_durable_rules() -> None:
    importers = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for path in PACKAGE.rglob("*.py")
        if breaking(path, ("durable",))
    )
    assert importers == ["matcher/engine.py"]


# Imports every domain module in turn in a fresh interpreter; after each, which frameworks it
# has loaded so far. The first module that loads one is the one (or imports the one) to fix.
PROBE = """
import importlib, json, sys
loaded = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    loaded[name] = sorted({m.split(".")[0] for m in sys.modules} & {"flask", "werkzeug", "sqlalchemy"})
print(json.dumps(loaded))
"""


def test_importing_the_domain_loads_no_flask_werkzeug_or_sqlalchemy() -> None:
    names = [module_name(path) for path in DOMAIN]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *names],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == {name: [] for name in names}


# durable_rules' JSON operators. A module can write the engine's dialect without importing
# `durable` at all (rules.py once built these dicts from plain literals), so the import test
# above cannot see it: the source text is scanned instead. Anything that needs the dialect asks
# matcher/engine.py, so a change of engine is a change to one file.
DURABLE_OPERATORS = re.compile(
    r"\$(?:and|or|not|all|any|gte|gt|lte|lt|ne|ex|nex|mt|imt|iall|iany)\b"
)


@pytest.mark.parametrize(
    "path",
    sorted(PACKAGE.rglob("*.py")),
    ids=[str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))],
)
def test_only_the_engine_module_writes_durable_rules_dialect(path: Path) -> None:
    if path == PACKAGE / "engine.py":
        assert DURABLE_OPERATORS.search(path.read_text(encoding="utf-8"))  # the scan sees it
        return
    text = path.read_text(encoding="utf-8")
    found = sorted({m.group(0) for m in DURABLE_OPERATORS.finditer(text)})
    assert found == [], f"{path.relative_to(PROJECT_ROOT)} writes durable_rules' dialect"
