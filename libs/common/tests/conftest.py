"""A probe service built with common's app factory: the routes exercise auth, errors and bodies."""

import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import Field

from common.app import create_service_app
from common.auth import CurrentUser, Principal, require_roles
from common.errors import Conflict
from common.schemas import RequestBody
from common.settings import CommonSettings
from common.testing.plugin import ServiceUnderTest


class Item(RequestBody):
    name: str = Field(min_length=1, max_length=20)
    secret: str


def probe_router() -> APIRouter:
    router = APIRouter(prefix="/probe")

    @router.get("/me")
    async def me(principal: CurrentUser) -> dict[str, object]:
        return {"subject": principal.subject, "roles": sorted(principal.roles)}

    @router.get("/admin")
    async def admin_only(principal: Principal = Depends(require_roles("admin"))) -> dict[str, str]:
        return {"subject": principal.subject}

    @router.post("/items", status_code=201)
    async def create_item(item: Item) -> dict[str, str]:
        return {"name": item.name}

    @router.post("/conflict")
    async def conflict() -> None:
        raise Conflict("That item exists already")

    # A literal path beside a template of the same shape, and a template with two routes.
    @router.get("/things/latest")
    async def latest_thing() -> dict[str, int]:
        return {"id": 0}

    @router.get("/things/{thing_id}")
    async def read_thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @router.delete("/things/{thing_id}", status_code=204)
    async def delete_thing(thing_id: int) -> None:
        return None

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    return router


def create_probe_app(settings: CommonSettings) -> FastAPI:
    return create_service_app(name="probe", settings=settings, routers=[probe_router()])


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("probe", None, create_probe_app, CommonSettings)
