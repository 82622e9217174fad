"""readyz follows the database: 503 while it is down, 200 again once it is back, same process."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.embedded import start_embedded_postgres
from common.settings import CommonSettings
from common.testing import TokenFactory

from .conftest import create_probe_app


@pytest.fixture
def pgdata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private PostgreSQL this test may stop and start (short path: socket names are limited)."""
    folder = tmp_path_factory.mktemp("ready")
    yield folder / "pg"
    shutil.rmtree(folder, ignore_errors=True)


async def test_readyz_is_503_while_the_database_is_down_and_heals(
    pgdata: Path, token_factory: TokenFactory
) -> None:
    server = start_embedded_postgres(pgdata)
    settings = CommonSettings(
        env="test", database_url=server.get_uri(), auth_public_key=token_factory.keys.public_pem
    )
    app = create_probe_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        assert (await client.get("/probe/readyz")).status_code == 200

        server.cleanup()  # stops the server: this process holds its only handle
        down = await client.get("/probe/readyz")
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert (await client.get("/probe/healthz")).status_code == 200

        server = start_embedded_postgres(pgdata)
        assert (await client.get("/probe/readyz")).status_code == 200
    server.cleanup()
