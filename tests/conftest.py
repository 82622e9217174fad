"""Cross-service fixtures: the stack (every service behind the real nginx) for end-to-end tests."""

import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from common.testing.processes import free_port
from gateway.stack import Stack, find_nginx, running_stack, service_ports


def installed(program: str | None, package: str) -> str:
    """The program's path; a test needing a missing one fails (a skip would pass unseen)."""
    if program is None:
        pytest.fail(f"{package} is not installed (apt-get install {package}; .ci/run does it)")
    return program


@pytest.fixture(scope="session")
def nginx() -> str:
    return installed(find_nginx(), "nginx")


@pytest.fixture(scope="session")
def kubectl() -> str:
    return installed(shutil.which("kubectl"), "kubernetes-client")


@contextlib.contextmanager
def stack_in(
    folder: Path, database_url: str, replicas: Mapping[str, int] | None = None
) -> Iterator[Stack]:
    """Every service in its own uvicorn (``replicas`` of some) behind nginx, on free ports, on
    ``database_url``, with its data and logs in ``folder``."""
    (folder / "logs").mkdir()
    with running_stack(
        port=free_port(),
        database_url=database_url,
        data_dir=folder / "data",
        ports={name: free_port() for name in service_ports()},
        log_dir=folder / "logs",
        replicas=replicas,
    ) as running:
        yield running


@pytest.fixture(scope="session")
def stack(
    nginx: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Every service in its own uvicorn behind nginx, on free ports, with the session database."""
    with stack_in(tmp_path_factory.mktemp("stack"), database_url) as running:
        yield running


def create_admin(stack: Stack, email: str, password: str) -> None:
    """``customers create-admin`` against the stack's database, as an operator would run it."""
    command = [str(Path(sys.executable).parent / "customers"), "create-admin", "--email", email]
    done = subprocess.run(  # noqa: S603 (our own CLI)
        [*command, "--password", password],
        env=stack.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


class AccessLog:
    """The gateway's JSON access log (nginx's output in the stack's log folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entry(self, request_id: str, within_seconds: float = 5) -> dict[str, Any]:
        """The line of the request with this id; nginx writes it just after answering."""
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            for line in self.path.read_text().splitlines():
                if line.startswith("{") and f'"request_id":"{request_id}"' in line:
                    entry: dict[str, Any] = json.loads(line)
                    return entry
            time.sleep(0.05)
        raise AssertionError(f"no access-log line for request {request_id} in {self.path}")


@pytest.fixture(scope="session")
def access_log(stack: Stack) -> AccessLog:
    assert stack.log_dir is not None
    return AccessLog(stack.log_dir / "nginx.log")
