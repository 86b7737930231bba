"""Check a JSON body against the OpenAPI document the server publishes, as a client would."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema_rs
from flask.testing import FlaskClient

from matcher.web.openapi import response_components


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema says it (the validator knows no `nullable`)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    said = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [said, {"type": "null"}]}
    return said


@functools.cache
def _validator(components_text: str, component: str) -> Any:
    schema = {
        "$ref": f"#/components/schemas/{component}",
        "components": {"schemas": _json_schema(json.loads(components_text))},
    }
    return jsonschema_rs.validator_for(schema)


def _errors(components_text: str, component: str, body: Any) -> list[str]:
    validator = _validator(components_text, component)
    return [
        f"/{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)
    ]


def documented_errors(client: FlaskClient, component: str, body: Any) -> list[str]:
    """Every way `body` breaks the published document's `component`, as readable lines."""
    document = client.get("/api/v1/openapi.json").get_json()
    return _errors(json.dumps(document["components"]["schemas"]), component, body)


@functools.cache
def _response_components() -> str:
    return json.dumps(response_components())


def response_errors(component: str, body: Any) -> list[str]:
    """Every way `body` breaks the document's response `component` (no app needed)."""
    return _errors(_response_components(), component, body)
