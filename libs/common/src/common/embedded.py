"""The embedded PostgreSQL (pgserver) used by ``make dev`` and the tests when no URL is given.

pgserver and psutil come with the ``common[embedded]`` extra (the workspace's dev group), not
with production images, which always have a ``DATABASE_URL``.
"""

import json
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
        try:
            from pgserver.postgres_server import get_server
        except ImportError as exc:
            raise RuntimeError(
                "the embedded PostgreSQL needs common[embedded] (make bootstrap installs it); "
                "or set DATABASE_URL"
            ) from exc
    logging.getLogger("pgserver").setLevel(logging.WARNING)

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    server = get_server(pgdata.resolve(), cleanup_mode="stop")
    logger.info("embedded postgres ready", extra={"pgdata": str(pgdata)})
    return server


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without saying so from pgserver's list of handle holders.

    pgserver stops the server when its last holder exits; a holder killed outright stays listed
    forever and would keep every later server running after its own last user is gone.
    """
    import psutil  # with pgserver, in common[embedded]

    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))


def embedded_database_url(data_dir: Path) -> str:
    """URL of the embedded server under ``data_dir``, starting it when needed."""
    uri: str = start_embedded_postgres(data_dir / "pg").get_uri()
    return uri
