"""`make stack` as people run it: Ctrl-C or SIGTERM leaves no process behind, PostgreSQL too."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from gateway.stack import PYCACHE, free_port, service_ports

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("nginx")]


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    waiting = set(service_ports())
    while waiting:
        assert process.poll() is None, f"make stack exited early:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"not ready: {waiting}\n{log.read_text()[-3000:]}"
        for name in list(waiting):
            try:
                if httpx.get(f"{base_url}/{name}/readyz", timeout=2).status_code == 200:
                    waiting.discard(name)
            except httpx.TransportError:
                pass
        time.sleep(0.2)


def interrupt(process: subprocess.Popen[bytes], how: str) -> None:
    if how == "ctrl-c":  # a terminal sends SIGINT to its whole foreground process group
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_stopping_the_stack_stops_every_process_and_the_embedded_postgres(
    tmp_path: Path, how: str
) -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # the embedded PostgreSQL, started and stopped by the command
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as fast to start as its services
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    log = tmp_path / "stack.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.stack", "--free-service-ports"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started: list[psutil.Process] = []
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", process, log)
        postmaster = int((tmp_path / "pg" / "postmaster.pid").read_text().split()[0])
        children = psutil.Process(process.pid).children(recursive=True)
        started = [*children, psutil.Process(postmaster)]
        assert len(started) >= 7  # five services, nginx's master and a worker, PostgreSQL

        interrupt(process, how)

        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
        _, alive = psutil.wait_procs(started, timeout=10)
        assert alive == []
    finally:
        process.kill()
        for leftover in started:
            if leftover.is_running():
                leftover.kill()
