"""The embedded PostgreSQL (pgserver) used by ``make dev`` and the tests when no URL is given."""

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def start_embedded_postgres(pgdata: Path) -> Any:
    """Start (or reuse) a PostgreSQL server whose data lives in ``pgdata``; returns the handle."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless.
        warnings.simplefilter("ignore")
        import pgserver
    logging.getLogger("pgserver").setLevel(logging.WARNING)

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata.resolve(), cleanup_mode="stop")
    logger.info("embedded postgres ready", extra={"pgdata": str(pgdata)})
    return server


def embedded_database_url(data_dir: Path) -> str:
    """URL of the embedded server under ``data_dir``, starting it when needed."""
    return start_embedded_postgres(data_dir / "pg").get_uri()
