"""Every forged token, at every secured operation of every service: 401 problem+json.

The services come from gateway/services.json and their operations from their own OpenAPI, so a
service landing later is covered by its first commit, with no code here. Each app is built by
its ``create_app`` with the settings the pytest plugin gives a service under test (the test key
pair trusted, the session database migrated) and called in-process: a 1 MB token is then 401
like any other forgery (the verifier refuses tokens over 8 KiB before parsing them); through
nginx it would be refused sooner, as a request header too large.
"""

import asyncio
import importlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from common.migrations import upgrade
from common.problems import PROBLEM_JSON
from common.testing import TEST_AUDIENCE, TEST_ISSUER, TokenFactory
from common.testing.forgeries import forged_tokens
from customers.records.models import ROLES

ROUTING_TABLE = Path(__file__).parents[1] / "gateway" / "services.json"
SERVICES = [entry["name"] for entry in json.loads(ROUTING_TABLE.read_text())["services"]]
FORGERY_NAMES = list(forged_tokens(TokenFactory()))
METHODS = {"get", "put", "post", "delete", "patch"}


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str  # path parameters filled in

    def __str__(self) -> str:
        return f"{self.service}: {self.method.upper()} {self.path}"


def sample_value(schema: dict[str, Any]) -> str:
    """Some value of the parameter's type: authentication is checked before parameters."""
    if schema.get("type") == "integer":
        return "1"
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    return "x"


def secured_operations(service: str, spec: dict[str, Any]) -> list[Operation]:
    """The operations whose OpenAPI entry requires a security scheme."""
    default_security = spec.get("security", [])
    operations = []
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS or not operation.get("security", default_security):
                continue
            path = template
            for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
                if parameter["in"] == "path":
                    value = sample_value(parameter.get("schema", {}))
                    path = path.replace(f"{{{parameter['name']}}}", value)
            operations.append(Operation(service, method, path))
    return operations


def settings_for(service: str, database_url: str, data_dir: Path, factory: TokenFactory) -> Any:
    """The plugin's test settings; the identity provider signs with the test key too."""
    module = importlib.import_module(f"{service}.config")
    return module.Settings(
        env="test",
        database_url=database_url,
        data_dir=data_dir,
        auth_public_key=factory.keys.public_pem,
        auth_issuer=TEST_ISSUER,
        auth_audience=TEST_AUDIENCE,
        signing_keys=[factory.keys.private_pem],  # ignored by every service but customers
    )


@dataclass
class Platform:
    clients: dict[str, httpx.AsyncClient]
    operations: list[Operation]

    async def call(self, operation: Operation, token: str | None) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        client = self.clients[operation.service]
        return await client.request(operation.method, operation.path, headers=headers)


@pytest.fixture(scope="module")
async def platform(
    database_url: str, token_factory: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Every service's app, running, and the secured operations read from their OpenAPI."""
    data_dir = tmp_path_factory.mktemp("forged-tokens")
    async with AsyncExitStack() as stack:
        clients, operations = {}, []
        for service in SERVICES:
            config = importlib.import_module(f"{service}.config")
            await asyncio.to_thread(upgrade, config.SERVICE_DIR, database_url)
            main = importlib.import_module(f"{service}.main")
            app: FastAPI = main.create_app(
                settings_for(service, database_url, data_dir, token_factory)
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients[service] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver")
            )
            operations += secured_operations(service, app.openapi())
        yield Platform(clients, operations)


async def test_the_platform_has_secured_operations_to_check(platform: Platform) -> None:
    assert platform.operations
    assert {operation.service for operation in platform.operations} <= set(SERVICES)


async def test_a_genuine_token_gets_past_authentication_everywhere(
    platform: Platform, token_factory: TokenFactory
) -> None:
    """Without this, an operation refusing every token would pass the forgery test."""
    genuine = token_factory.token("user-1", sorted(ROLES))
    refused = [
        f"{operation} -> {response.status_code}"
        for operation in platform.operations
        if (response := await platform.call(operation, genuine)).status_code == 401
    ]
    assert refused == []


@pytest.mark.parametrize("forgery", FORGERY_NAMES)
async def test_a_forged_token_is_refused_at_every_secured_operation(
    platform: Platform, token_factory: TokenFactory, forgery: str
) -> None:
    token = forged_tokens(token_factory, roles=sorted(ROLES))[forgery]
    admitted = []
    for operation in platform.operations:
        response = await platform.call(operation, token)
        if (
            response.status_code != 401
            or response.headers.get("content-type") != PROBLEM_JSON
            or response.json().get("status") != 401
            or not response.headers.get("www-authenticate", "").startswith("Bearer")
        ):
            admitted.append(f"{operation} -> {response.status_code}")
    assert admitted == []
