"""Every dependency of every service's routes is ``async``: FastAPI runs a plain ``def`` in its
thread pool, a hop that costs more than most dependencies' work (and has a bounded pool)."""

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from common.testing import TokenFactory
from gateway.stack import service_ports

SERVICES = sorted(service_ports())


def runs_on_the_loop(call: Any) -> bool:
    """FastAPI awaits it (a coroutine or async generator function, or an object whose
    ``__call__`` is one) instead of sending it to the thread pool."""
    if inspect.isclass(call):
        return False  # its __init__ is called in the thread pool
    target = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from dependencies(dependency)


def threaded_dependencies(app: FastAPI) -> set[str]:
    """``route: dependency`` for each dependency that would run in the thread pool."""
    found = set()
    for route in iter_route_contexts(app.routes):  # included routers' routes, as served
        dependant = getattr(route, "dependant", None)
        if not isinstance(route.original_route, APIRoute) or dependant is None:
            continue
        for dependency in dependencies(dependant):
            if dependency.call is not None and not runs_on_the_loop(dependency.call):
                name = getattr(dependency.call, "__qualname__", repr(dependency.call))
                found.add(f"{route.path}: {dependency.call.__module__}.{name}")
    return found


def service_app(name: str) -> FastAPI:
    config = importlib.import_module(f"{name}.config")
    main = importlib.import_module(f"{name}.main")
    tokens = TokenFactory()
    fields = config.Settings.model_fields
    optional = {"signing_keys": [tokens.keys.private_pem]}
    settings = config.Settings(
        env="test",
        database_url="postgresql://nobody@127.0.0.1:9/none",  # routes only: never connected
        auth_public_key=tokens.keys.public_pem,
        **{key: value for key, value in optional.items() if key in fields},
    )
    app: FastAPI = main.create_app(settings)
    return app


@pytest.mark.parametrize("name", SERVICES)
def test_every_dependency_of_the_services_routes_is_async(name: str) -> None:
    assert threaded_dependencies(service_app(name)) == set()


def test_the_check_finds_a_plain_def_dependency() -> None:
    from fastapi import Depends

    def plain() -> int:
        return 1

    async def awaited() -> int:
        return 2

    app = FastAPI()

    @app.get("/probe")
    async def probe(a: int = Depends(plain), b: int = Depends(awaited)) -> int:
        return a + b

    [found] = threaded_dependencies(app)
    assert found.endswith("plain")
