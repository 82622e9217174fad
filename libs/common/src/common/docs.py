"""Swagger UI at ``/<prefix>/docs``, its assets served by the service itself, not by a CDN.

FastAPI's own docs page loads Swagger UI from a CDN, so it stays blank offline or behind a
firewall; ``fastapi-offline`` ships the same files in its wheel, and this serves them under
``/<prefix>/docs/assets/``.
"""

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
# Swagger UI would otherwise send the document to validator.swagger.io for a badge.
SWAGGER_PARAMETERS: dict[str, Any] = {"persistAuthorization": True, "validatorUrl": None}
JSON = "application/json"
COMPONENTS = "#/components/schemas/"


def docs_url(prefix: str) -> str:
    return f"/{prefix}/docs"


def oauth2_redirect_url(prefix: str) -> str:
    return f"/{prefix}/docs/oauth2-redirect"


def install_docs(app: FastAPI, prefix: str) -> None:
    """Serve ``/<prefix>/docs``, its OAuth2 redirect page and ``/<prefix>/docs/assets/...``."""
    assets = f"{docs_url(prefix)}/assets"
    router = APIRouter(include_in_schema=False)

    @router.get(docs_url(prefix))
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"/{prefix}/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            oauth2_redirect_url=oauth2_redirect_url(prefix),
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @router.get(oauth2_redirect_url(prefix))
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.include_router(router)
    app.mount(assets, StaticFiles(directory=SWAGGER_ASSETS), name=f"{prefix}-docs-assets")


_BODY_MODELS: dict[str, type[BaseModel]] = {}


def documented_body(model: type[BaseModel], *media_types: str) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its body itself (a stream, a form or JSON): the
    body is ``model``, named in the document's components so that generated clients name it too.
    """
    _BODY_MODELS[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    content = {media_type: {"schema": schema} for media_type in media_types or (JSON,)}
    return {"requestBody": {"required": True, "content": content}}


def name_documented_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """Add the schemas that ``documented_body`` refers to (and the ones they use) to components."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _referenced_body_models(document):
        if name in components or name not in _BODY_MODELS:
            continue
        schema = _BODY_MODELS[name].model_json_schema(ref_template=f"{COMPONENTS}{{model}}")
        for nested, definition in schema.pop("$defs", {}).items():
            components.setdefault(nested, definition)
        components[name] = schema
    return document


def _referenced_body_models(document: dict[str, Any]) -> set[str]:
    return {
        media["schema"]["$ref"].removeprefix(COMPONENTS)
        for operations in document.get("paths", {}).values()
        for operation in operations.values()
        for media in operation.get("requestBody", {}).get("content", {}).values()
        if "$ref" in media.get("schema", {})
    }
