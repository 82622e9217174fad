"""Processes a test or a benchmark starts: a free loopback port for one, and waiting until it
answers."""

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes], timeout: float = 60, *, log: Path | None = None
) -> None:
    """Return once ``url`` answers 200; RuntimeError when ``process`` exits first or ``timeout``
    seconds pass (naming ``log``, the process's output, when given)."""
    see = f"; see {log}" if log else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}{see}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s{see}")
