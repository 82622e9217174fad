"""What a service's OpenAPI document says of a request, for tests that hold the server to it.

A client generated from the document must never send what the server refuses, and the server
must refuse what the document calls invalid; these validators let a test check both sides.
Test-only: it needs ``jsonschema`` (a dependency of schemathesis, in the dev group).
"""

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """``schema`` with the document's components beside it, so its ``$ref`` resolve."""
    rooted = {**schema, "components": document.get("components", {})}
    return Draft202012Validator(rooted, format_checker=FormatChecker())


def body_validator(document: dict[str, Any], path: str, method: str) -> Draft202012Validator:
    """The JSON request body ``method path`` documents."""
    operation = document["paths"][path][method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return _validator(document, schema)
