"""Typed FastAPI dependencies for what the app factory holds: settings and the database."""

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from common.database import Database
from common.settings import CommonSettings

SettingsT = TypeVar("SettingsT", bound=CommonSettings)


def settings_dependency(
    settings_class: type[SettingsT],
) -> Callable[[Request], Awaitable[SettingsT]]:
    """A dependency returning the app's settings as ``settings_class``.

    ``ServiceSettings = Annotated[Settings, Depends(settings_dependency(Settings))]``. The
    dependencies here are ``async`` only so FastAPI calls them on the loop, not in a thread.
    """

    async def app_settings(request: Request) -> SettingsT:
        settings = request.app.state.settings
        assert isinstance(settings, settings_class)
        return settings

    return app_settings


async def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


AppDatabase = Annotated[Database, Depends(_database)]
"""The service's engine and session factory (for work outside the request's unit of work)."""
