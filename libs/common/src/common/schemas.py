"""Request and response types every service shares: strict bodies, paging, field errors."""

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from common.errors import Unprocessable

ItemT = TypeVar("ItemT")
MAX_OFFSET = 1_000_000


def _contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return any(_contains_nul(item) for item in value)
    return False


def example(**values: Any) -> ConfigDict:
    """A model config showing ``values`` as the body's example in OpenAPI, /docs and clients."""
    return ConfigDict(json_schema_extra={"examples": [values]})


class RequestBody(BaseModel):
    """Base of every request model: unknown fields are refused, and so is any NUL character.

    PostgreSQL cannot store ``\\x00`` in text, so a NUL would otherwise surface as a 500.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _contains_nul(value):
            raise PydanticCustomError("nul_character", "must not contain a NUL character")
        return value


NO_NUL_PATTERN = "^[^\\u0000]*$"


def document_nul_refusal(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAPI document so every request string without a pattern of its own says
    it holds no NUL (``RequestBody`` refuses one; the middleware refuses one in a path or query)."""
    components = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def visit(schema: Any) -> None:
        if isinstance(schema, list):
            for item in schema:
                visit(item)
            return
        if not isinstance(schema, dict):
            return
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/components/schemas/"):
            name = reference.rsplit("/", 1)[-1]
            if name not in seen and name in components:
                seen.add(name)
                visit(components[name])
        if schema.get("type") == "string" and not {"pattern", "enum", "const"} & set(schema):
            schema["pattern"] = NO_NUL_PATTERN
        for key in ("properties", "patternProperties", "$defs"):
            visit(list(schema.get(key, {}).values()))
        for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
            visit(schema.get(key))

    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                visit(parameter.get("schema"))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                visit(media.get("schema"))
    return document


class PageQuery(RequestBody):
    """``limit`` and ``offset`` of a paginated list; subclass it to add filters."""

    limit: int = Field(50, ge=1, le=200, description="Items per page")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, with the total count over all pages."""

    items: list[ItemT]
    total: int = Field(description="Items matching the filters, on all pages")
    limit: int
    offset: int

    @classmethod
    def of(cls, items: Sequence[ItemT], total: int, query: PageQuery) -> "Page[ItemT]":
        """The page of ``items`` that ``query`` asked for, out of ``total``."""
        return cls(items=list(items), total=total, limit=query.limit, offset=query.offset)


def field_error(field: str, message: str, *, error_type: str = "value_error") -> Unprocessable:
    """A 422 naming one field of the request body, shaped like a validation error."""
    return Unprocessable(
        message, extra={"errors": [{"loc": ["body", field], "msg": message, "type": error_type}]}
    )


def error_summary(error: ValidationError) -> str:
    """``field: reason`` for each error, never the offending value (it may be a password)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in detail['loc']) or 'value'}: {detail['msg']}"
        for detail in error.errors()
    )
