"""Contract fuzzing: schemathesis against every service's OpenAPI, with a token of every role.

Services are found in ``gateway/services.json`` and run in-process over ASGI on the session's
database, so a new service is fuzzed from its first commit with no code here. For each operation,
hypothesis draws valid and invalid requests (schemathesis's positive and negative modes), each
sent anonymously or with a token of one role, and every response must:

- not be a 5xx (but a documented 503: a service it calls, which is not running here, is down);
- have a documented status, content type, headers and body (schemathesis's conformance checks);
- be ``application/problem+json`` with the RFC 9457 fields when it is an error, unless the
  operation documents that error in another standard shape (RFC 6749's, at a token endpoint).

Every date and date-time field of every operation (query, path and header parameters, and body
properties at any depth) is also sent the calendar's extremes, year 1 and year 9999 with +-14:00
offsets, by each caller, in an otherwise valid request: values that overflow Python or
PostgreSQL once shifted to UTC must be refused, not answered with a 500.

``FUZZ_EXAMPLES`` (default 25) bounds the examples per operation; ``FUZZ_EXAMPLES=500`` digs deeper.
"""

import asyncio
import copy
import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from common.migrations import upgrade
from common.testing import TEST_AUDIENCE, TEST_ISSUER, TokenFactory
from common.testing.plugin import ServiceUnderTest, empty_schema
from customers.records.models import ROLES
from gateway.stack import service_ports

SERVICES = sorted(service_ports())
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "25"))
PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CALENDAR_EXTREMES = {
    "date-time": [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00-14:00",
        "9999-12-31T23:59:59+14:00",
        "9999-12-31T23:59:59-14:00",
    ],
    "date": ["0001-01-01", "9999-12-31"],
}
# Settings a service may have, set when it does: the cheapest password hashing (the fuzzer is
# about contracts, not hashing cost); ``signing_keys`` is added in ``fuzz_settings``.
OPTIONAL_TEST_SETTINGS: dict[str, Any] = {"argon2_memory_kib": 8, "argon2_time_cost": 1}


def under_test(name: str) -> ServiceUnderTest:
    """A service as its own tests see it, from its package's ``config`` and ``main``."""
    config = importlib.import_module(f"{name}.config")
    main = importlib.import_module(f"{name}.main")
    return ServiceUnderTest(name, config.SERVICE_DIR, main.create_app, config.Settings)


def fuzz_settings(service: ServiceUnderTest, database_url: str, tokens: TokenFactory) -> Any:
    """The service's settings on the test database, trusting the test key.

    A service that signs tokens (customers) signs with it too, so the token factory's tokens are
    its own, as in customers' tests.
    """
    optional = {**OPTIONAL_TEST_SETTINGS, "signing_keys": [tokens.keys.private_pem]}
    fields = service.settings_class.model_fields
    return service.settings_class(
        env="test",
        database_url=database_url,
        auth_public_key=tokens.keys.public_pem,
        auth_issuer=TEST_ISSUER,
        auth_audience=TEST_AUDIENCE,
        **{name: value for name, value in optional.items() if name in fields},
    )


def callers(tokens: TokenFactory) -> list[dict[str, str]]:
    """No ``Authorization`` header, then one caller holding each role."""
    roles = sorted(ROLES)
    return [{}, *(tokens.auth(f"fuzz-{role}", [role]) for role in roles)]


def no_server_error(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """No 5xx, but a 503 the operation documents: a service it depends on, which the fuzzer
    does not run (customers, for appointments), is unreachable."""
    if response.status_code < 500:
        return
    assert response.status_code == 503, f"server error {response.status_code}"
    assert "503" in case.operation.responses.status_codes, "an undocumented 503"


def documents_another_error_shape(case: schemathesis.Case, status: int) -> bool:
    """The operation documents this error in a standard shape of its own, not as a problem
    (customers' token endpoint answers as RFC 6749 says); the conformance checks hold it to it."""
    documented = case.operation.responses.find_by_status_code(status)
    media_types = set(documented.definition.get("content", {})) if documented else set()
    return bool(media_types) and PROBLEM_JSON not in media_types


def problem_json(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every error is RFC 9457 problem+json carrying the request id."""
    if response.status_code < 400 or documents_another_error_shape(case, response.status_code):
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == PROBLEM_JSON, f"error with content type {content_type!r}"
    body = response.json()
    missing = PROBLEM_FIELDS - set(body)
    assert not missing, f"problem without {sorted(missing)}"
    assert body["status"] == response.status_code
    assert body["request_id"] == response.headers["x-request-id"][0]


@dataclass
class FuzzReport:
    """Cases sent per operation and the failures found, for the test's message."""

    service: str
    cases: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        total = sum(self.cases.values())
        return f"{self.service}: {total} cases over {len(self.cases)} operations"


def generated_requests(operation: Any) -> Any:
    """Valid and invalid requests for one operation."""
    return operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )


def fuzz_operation(
    operation: Any, headers: list[dict[str, str]], report: FuzzReport, examples: int
) -> None:
    """Send ``examples`` generated requests to one operation; record the first failure."""
    label = operation.label
    report.cases[label] = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=generated_requests(operation), caller=st.sampled_from(headers))
    def send(case: schemathesis.Case, caller: dict[str, str]) -> None:
        report.cases[label] += 1
        case.call_and_validate(
            headers=caller, checks=CHECKS, additional_checks=[no_server_error, problem_json]
        )

    try:
        send()
    except (Exception, FailureGroup) as failure:  # a group of check failures is a BaseException
        report.failures.append(f"{label}: {failure}")


Where = tuple[str, tuple[str | int, ...]]
"""A date field of a request: its location (query, path, header, body) and the path to it."""


def calendar_format(schema: Any, components: dict[str, Any]) -> str | None:
    """``date`` or ``date-time`` when ``schema`` (or one of its ``anyOf``) is one."""
    if not isinstance(schema, dict):
        return None
    schema = resolve(schema, components)
    if schema.get("format") in CALENDAR_EXTREMES:
        return str(schema["format"])
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found = calendar_format(option, components)
        if found:
            return found
    return None


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref", "")
    if reference.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = components[reference.rsplit("/", 1)[-1]]
        return resolved
    return schema


def body_date_fields(
    schema: Any, components: dict[str, Any], at: tuple[str | int, ...] = (), depth: int = 0
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Paths to the date fields of a body: object properties and the first item of arrays."""
    if not isinstance(schema, dict) or depth > 6:
        return
    found = calendar_format(schema, components)
    if found:
        yield at, found
        return
    schema = resolve(schema, components)
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from body_date_fields(option, components, at, depth + 1)
    for name, property_schema in schema.get("properties", {}).items():
        yield from body_date_fields(property_schema, components, (*at, name), depth + 1)
    if "items" in schema:
        yield from body_date_fields(schema["items"], components, (*at, 0), depth + 1)


def calendar_fields(operation: Any, document: dict[str, Any]) -> list[tuple[Where, str]]:
    """Every date and date-time field of an operation, with its format."""
    components = document.get("components", {}).get("schemas", {})
    definition = operation.definition.raw
    fields: list[tuple[Where, str]] = []
    for parameter in definition.get("parameters", []):
        found = calendar_format(parameter.get("schema"), components)
        if found:
            fields.append(((parameter["in"], (parameter["name"],)), found))
    for media in definition.get("requestBody", {}).get("content", {}).values():
        for at, found in body_date_fields(media.get("schema"), components):
            fields.append((("body", at), found))
    return fields


def with_value(case: schemathesis.Case, where: Where, value: str) -> bool:
    """Put ``value`` at ``where`` in ``case``; False when the generated case has no such spot
    (an optional object left out, an empty array)."""
    location, at = where
    if location != "body":
        container = {"query": "query", "path": "path_parameters", "header": "headers"}[location]
        values = dict(getattr(case, container) or {})
        values[str(at[0])] = value
        setattr(case, container, values)
        return True
    if not at:
        case.body = value
        return True
    body = copy.deepcopy(case.body)
    target = body
    for step in at[:-1]:
        if isinstance(step, int):
            if not isinstance(target, list) or not target:
                return False
        elif not isinstance(target, dict) or step not in target:
            return False
        target = target[step]
    last = at[-1]
    if isinstance(last, int):
        if not isinstance(target, list) or not target:
            return False
        target[last] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        return False
    case.body = body
    return True


def fuzz_calendar_extremes(
    operation: Any, document: dict[str, Any], headers: list[dict[str, str]], report: FuzzReport
) -> None:
    """Each extreme in each date field, by each caller, in an otherwise valid request."""
    for where, calendar in calendar_fields(operation, document):
        try:
            for value in CALENDAR_EXTREMES[calendar]:
                for caller in headers:
                    send_with_value(operation, where, value, caller, report)
        except (Exception, FailureGroup) as failure:  # the first failure of a field is enough
            spot = ".".join(map(str, where[1]))
            report.failures.append(f"{operation.label} {where[0]} {spot}: {failure}")


def send_with_value(
    operation: Any, where: Where, value: str, caller: dict[str, str], report: FuzzReport
) -> None:
    """One generated valid request with ``value`` put at ``where``, sent by ``caller``."""

    @settings(
        max_examples=1,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    def send(case: schemathesis.Case) -> None:
        if not with_value(case, where, value):
            return
        report.cases[operation.label] = report.cases.get(operation.label, 0) + 1
        case.call_and_validate(
            headers=caller, checks=CHECKS, additional_checks=[no_server_error, problem_json]
        )

    send()


def streams_forever(operation: Any) -> bool:
    """A Server-Sent Events stream (occupancy's events) never ends, so a generated call to an
    existing room would hang the run; its service's own tests read it with deadlines."""
    return any(
        "text/event-stream" in response.get("content", {})
        for response in operation.definition.raw.get("responses", {}).values()
    )


def fuzz_service(app: FastAPI, name: str, headers: list[dict[str, str]]) -> FuzzReport:
    """Every operation of the service's OpenAPI (blocking: schemathesis runs the app's loop)."""
    report = FuzzReport(name)
    try:
        schema = schemathesis.openapi.from_asgi(f"/{name}/openapi.json", app)
        document = schema.raw_schema
        for result in schema.get_all_operations():
            operation = result.ok()
            if streams_forever(operation):
                continue
            fuzz_operation(operation, headers, report, EXAMPLES_PER_OPERATION)
            fuzz_calendar_extremes(operation, document, headers, report)
    finally:
        shutdown_lifespans()
    return report


@pytest.mark.parametrize("name", SERVICES)
async def test_every_operation_keeps_its_contract(
    name: str, database_url: str, admin_engine: AsyncEngine, token_factory: TokenFactory
) -> None:
    service = under_test(name)
    assert service.directory is not None
    await asyncio.to_thread(upgrade, service.directory, database_url)
    await empty_schema(admin_engine, name)
    app = service.create_app(fuzz_settings(service, database_url, token_factory))
    try:
        report = await asyncio.to_thread(fuzz_service, app, name, callers(token_factory))
    finally:
        await empty_schema(admin_engine, name)
    print(report.summary())
    assert report.cases, f"{name} documents no operation"
    if report.failures:
        pytest.fail("\n\n".join([report.summary(), *report.failures]), pytrace=False)
