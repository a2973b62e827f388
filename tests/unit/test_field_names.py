"""A field's error always names the field ("Alasan: Wajib diisi", never a bare "Wajib diisi"): the consoles
put the catalogue's fieldname_<field> before each field's message (siaga.js problemSummary), so every field
any API request takes — body, nested body or query — needs its name in words in both languages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from siaga.app import create_app
from siaga.core.i18n import LANGUAGES, catalogue
from siaga.settings import Settings


def _properties(schemas: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> set[str]:
    """Every property name a request schema can carry, following $ref, arrays, unions and nested objects."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return set()
        seen.add(name)
        return _properties(schemas, schemas[name], seen)
    out = set(schema.get("properties", {}))
    nested = [*schema.get("properties", {}).values(), *schema.get("anyOf", []), *schema.get("oneOf", []),
              *schema.get("allOf", [])]
    if isinstance(schema.get("items"), dict):
        nested.append(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        nested.append(schema["additionalProperties"])
    for sub in nested:
        out |= _properties(schemas, sub, seen)
    return out


def request_fields(tmp_path: Path) -> set[str]:
    spec = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}")).openapi()
    schemas = spec["components"]["schemas"]
    fields: set[str] = set()
    for operations in spec["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            fields |= _properties(schemas, body.get("schema", {}), set())
            fields |= {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    return fields


def test_every_field_an_api_request_takes_has_its_name_in_both_languages(tmp_path: Path):
    fields = request_fields(tmp_path)
    assert {"text", "reason", "category_code", "caller_number"} <= fields  # the walk found the bodies
    missing = [f"fieldname_{f} ({lang})" for f in sorted(fields) for lang in LANGUAGES
               if f"fieldname_{f}" not in catalogue(lang)]
    assert missing == []
