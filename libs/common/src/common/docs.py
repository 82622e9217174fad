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

SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
# Swagger UI would otherwise send the document to validator.swagger.io for a badge.
SWAGGER_PARAMETERS: dict[str, Any] = {"persistAuthorization": True, "validatorUrl": None}


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
