"""Strict YAML loading for files that clinicians edit by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from matcher.errors import ConfigError

# libyaml's parser when PyYAML has it (about five times faster), the pure-Python one otherwise.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 booleans only and no duplicate keys."""


# YAML 1.1 reads unquoted yes/no/on/off as booleans (Norwegian `no` became False):
# keep only true/false so that such words stay strings and fail validation loudly.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {line})", key_node.start_mark
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _JsonProblem(ValueError):
    pass


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _JsonProblem(f"duplicate key {duplicate!r}")
    return result


def _json_constant(name: str) -> Any:
    raise _JsonProblem(f"{name} is not a number")


def _load_json(text: str, name: str) -> Any:
    # JSON is YAML too; a large exported roster parses a hundred times faster this way.
    try:
        return json.loads(text, object_pairs_hook=_json_object, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            name, f"invalid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except _JsonProblem as exc:
        raise ConfigError(name, f"invalid JSON: {exc}") from None


def parse_yaml(text: str) -> Any:
    """Parse YAML text with the strict loader (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


# What load_yaml parses with: a seam where the tests put a memo of parse_yaml (one parse per
# distinct text in a test process; tests/conftest.py).
yamlfile_parser = parse_yaml


def load_yaml(path: Path, display_name: str | None = None) -> Any:
    """Parse one YAML (or JSON) file strictly; raise ConfigError naming file and line if bad."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(name, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(name, f"cannot be read ({exc.strerror})") from None
    if text.lstrip().startswith(("{", "[")):
        return _load_json(text, name)
    try:
        return yamlfile_parser(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(name, f"invalid YAML: {where}{problem}") from None
