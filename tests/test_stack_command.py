"""`make stack` as the README says to run it: ready, quiet, and Ctrl-C or SIGTERM leaves nothing."""

import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from gateway.stack import (
    PYCACHE,
    StackError,
    check_ports_free,
    chosen_replicas,
    chosen_service_ports,
    free_port,
    service_ports,
)

ROOT = Path(__file__).resolve().parents[1]
INSTALL_MISSING = ROOT / ".ci" / "install-missing"


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Every service's /readyz answers 200 through the gateway (polled, with a deadline)."""
    deadline = time.monotonic() + 180  # the stack's own limit is 120 s, after migrations
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
    else:  # as a process manager stops make: SIGTERM to make alone
        process.send_signal(signal.SIGTERM)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A folder outside pytest's own: as root, pgserver opens the path to its ``pgserver`` user
    (chmod of every parent), which another pytest session starting meanwhile closes again."""
    with tempfile.TemporaryDirectory(prefix="stack-test-") as folder:
        yield Path(folder)


@pytest.mark.e2e
@pytest.mark.usefixtures("nginx")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_make_stack_serves_on_the_chosen_ports_and_stops_every_process(
    data_dir: Path, how: str
) -> None:
    """DATA_DIR in the relative form of its default (``.data``), which nginx once refused."""
    port = free_port()
    ports = {name: free_port() for name in service_ports()}
    env = {
        **os.environ,
        "PORT": str(port),
        "SERVICE_PORTS": ",".join(f"{name}={number}" for name, number in ports.items()),
        "DATA_DIR": os.path.relpath(data_dir, ROOT),
        "PYTHONPYCACHEPREFIX": str(PYCACHE),  # as fast to start as its services
    }
    env.pop("DATABASE_URL", None)  # the embedded PostgreSQL, started and stopped by the command
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    log = data_dir / "stack.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "stack"],  # noqa: S607 (the README's command, found on PATH as a user would)
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started: list[psutil.Process] = []
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", process, log)
        signup = httpx.post(
            f"http://127.0.0.1:{port}/auth/signup",
            json={"email": "stack-user@example.com", "password": f"stack-{uuid.uuid4().hex}"},
        )
        assert signup.status_code == 201, signup.text
        for name, number in ports.items():
            assert httpx.get(f"http://127.0.0.1:{number}/{name}/healthz").status_code == 200
        postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        children = psutil.Process(process.pid).children(recursive=True)
        started = [*children, psutil.Process(postmaster)]
        assert len(started) >= 7  # five services, nginx's master and a worker, PostgreSQL

        interrupt(process, how)

        process.wait(timeout=60)
        _, alive = psutil.wait_procs(started, timeout=10)
        assert alive == [], log.read_text()[-3000:]
        output_text = log.read_text()
        assert '"status":502' not in output_text  # nginx started once the services were ready
        assert "connect() failed" not in output_text
    finally:
        process.kill()
        for leftover in started:
            if leftover.is_running():
                leftover.kill()


def test_service_ports_default_to_the_routing_table() -> None:
    assert chosen_service_ports("") == service_ports()


def test_service_ports_can_be_named_one_by_one() -> None:
    ports = chosen_service_ports("points=9102, matching=9104")
    assert ports == service_ports() | {"points": 9102, "matching": 9104}


def test_free_service_ports_are_all_different_and_free() -> None:
    ports = chosen_service_ports("free")
    assert ports.keys() == service_ports().keys()
    assert len(set(ports.values())) == len(ports)
    check_ports_free(ports)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("billing=9000", "names no service 'billing'"),
        ("points=", "gives points no valid port"),
        ("points=http", "gives points no valid port"),
        ("points=70000", "gives points no valid port"),
    ],
)
def test_service_ports_refuse_what_they_cannot_use(spec: str, message: str) -> None:
    with pytest.raises(StackError, match=message):
        chosen_service_ports(spec)


def test_replicas_are_counted_per_service() -> None:
    assert chosen_replicas("") == {}
    assert chosen_replicas("points=2, occupancy=3") == {"points": 2, "occupancy": 3}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("billing=2", "names no service 'billing'"),
        ("points=", "gives points no count"),
        ("points=0", "gives points no count"),
        ("points=two", "gives points no count"),
        ("points=17", "gives points no count"),
    ],
)
def test_replicas_refuse_what_they_cannot_run(spec: str, message: str) -> None:
    with pytest.raises(StackError, match=message):
        chosen_replicas(spec)


def test_a_taken_port_is_named_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StackError, match=f"port {port} \\(points\\) is taken.*SERVICE_PORTS"):
            check_ports_free({"points": port})


@pytest.mark.parametrize(
    ("target", "programs", "then"),
    [
        ("test", "nginx=nginx kubectl=kubernetes-client chromium=chromium npm=npm", "run pytest"),
        ("stack", "nginx=nginx", "run python -m gateway.stack"),
    ],
)
def test_the_make_target_installs_what_it_needs_before_it_runs(
    target: str, programs: str, then: str
) -> None:
    """``make -n`` prints the recipe without running it."""
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        ["make", "-n", target],  # noqa: S607 (make as a user runs it)
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    install = lines.index(f"/bin/bash .ci/install-missing {programs}")
    assert then in lines[install + 1]


def run_install_missing(*pairs: str, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own script)
        ["/bin/bash", str(INSTALL_MISSING), *pairs],
        env={"PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )


def test_make_installs_nothing_when_every_program_is_there() -> None:
    result = run_install_missing("bash=bash", path=os.environ["PATH"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_apt_get_make_stops_with_one_line_saying_what_to_run(tmp_path: Path) -> None:
    """A PATH with neither the program nor apt-get: nothing runs, one line on stderr."""
    result = run_install_missing("no-such-program=no-such-package", path=str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        'missing no-such-package: run "sudo apt-get install -y no-such-package" '
        "(Debian/Ubuntu), then try again"
    ]
