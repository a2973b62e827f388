"""Request bodies accept what their published schema says, and nothing else: every request model of the
API derives from StrictModel. Pydantic's lax mode would turn 1 or "yes" into true, "5" into 5 and true into
1, which the OpenAPI document calls invalid; a NUL character would be stored where PostgreSQL refuses it
and other programs cut the text short. Here a boolean is a JSON boolean, a number a JSON number, unknown
fields are refused, and no text holds a NUL — each a 422 naming the field, as the schema says
(every string property carries the pattern NUL_FREE).

The telephony ingest (calls.schemas.CallEventIn) is the exception by design: an emergency call is never
refused for its data, so it keeps lax types and makes odd values storable instead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

NUL_FREE = "^[^\\u0000]*$"  # JSON Schema (ECMA-262) for "no NUL character"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_nul(v) for v in value)
    return False


def _nul_free_strings(schema: dict[str, Any]) -> None:
    """Say in the schema what the validator refuses: every string without a pattern of its own gets
    NUL_FREE (one with a pattern already allows only named characters)."""
    if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema \
            and "const" not in schema and "format" not in schema:
        schema["pattern"] = NUL_FREE
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            if isinstance(sub, dict):
                _nul_free_strings(sub)
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict):
            _nul_free_strings(schema[key])
    for sub in (schema.get("properties") or {}).values():
        if isinstance(sub, dict):
            _nul_free_strings(sub)


class StrictModel(BaseModel):
    """The base of every request body: JSON types exactly, no unknown fields, no NUL in any text."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_nul_free_strings)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise PydanticCustomError("nul_character", "Text may not contain a NUL character")
        return value



def _iso_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Input should be an ISO 8601 date-time as text")
    return value


# A date-time with its offset in a strict body: ISO 8601 text (JSON has no date type; strict mode alone
# would refuse the text, lax mode would take a number as Unix time).
JsonDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_text), Field(strict=False)]


def json_array(value: Any) -> Any:
    """A JSON array where a strict model holds a tuple (strict mode would refuse the list JSON gives):
    use as `Annotated[tuple[...], BeforeValidator(json_array)]`."""
    return tuple(value) if isinstance(value, list) else value
