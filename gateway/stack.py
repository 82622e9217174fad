"""``make stack``: each service in its own uvicorn process, behind a real nginx.

The same database choice as ``make dev`` (embedded PostgreSQL under ``.data`` unless
``DATABASE_URL``), migrated first; nginx runs from a config rendered into ``<data dir>/stack``.
The services listen on the ports of ``services.json`` unless ``SERVICE_PORTS`` (or
``--service-ports``) says ``free`` or ``name=port,...``. Each runs ``common.serve`` with
``WEB_CONCURRENCY`` workers (1 unless set); ``REPLICAS`` (or ``--replicas``) ``name=count,...``
starts more replicas of a service on free ports, which nginx balances with the first. nginx
starts once every service answers its ``/readyz`` directly, so it never logs a 502 while they
start.
Ctrl-C or SIGTERM stops nginx and the services; the embedded PostgreSQL stops when this process
exits (pgserver's atexit), as in ``make dev``. occupancy's daily files go to moto's S3 server,
started and stopped with the stack, unless ``OCCUPANCY_S3_BUCKET`` names a bucket of its own.

Python API (the end-to-end tests use it)::

    with running_stack(port=8080, database_url=url, data_dir=tmp) as stack:
        httpx.get(f"{stack.url}/points/healthz")
"""

import argparse
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from common.logging import configure_logging
from common.settings import CommonSettings
from common.testing.processes import free_port
from gateway.devserver import GATEWAY_DIR, ROOT, prepare_environment

TEMPLATE = GATEWAY_DIR / "nginx.conf.template"
# Compiled bytecode of the services' processes: without it (PYTHONDONTWRITEBYTECODE) every start
# compiles every dependency again, three times slower. Git-ignored, shared by every stack.
PYCACHE = ROOT / ".data" / "pycache"
_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# How long the services and nginx may take to be ready (a busy machine needs tens of seconds).
READY_TIMEOUT_SECONDS = 120
logger = logging.getLogger("stack")


class StackError(RuntimeError):
    """A process of the stack failed to start or died."""


def service_ports() -> dict[str, int]:
    """Service name -> its native port, from ``services.json``."""
    services = json.loads((GATEWAY_DIR / "services.json").read_text())["services"]
    return {service["name"]: service["port"] for service in services}


def chosen_service_ports(spec: str) -> dict[str, int]:
    """The ports ``SERVICE_PORTS`` asks for: empty (``services.json``), ``free``, or
    ``name=port,...`` (the services it does not name keep their ``services.json`` port)."""
    ports = service_ports()
    if spec.strip() == "free":
        return {name: free_port() for name in ports}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, port = item.partition("=")
        if name not in ports:
            raise StackError(f"SERVICE_PORTS names no service {name!r} (one of {', '.join(ports)})")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise StackError(f"SERVICE_PORTS gives {name} no valid port: {item!r}")
        ports[name] = int(port)
    return ports


def chosen_replicas(spec: str) -> dict[str, int]:
    """The replica counts ``REPLICAS`` asks for: ``name=count,...`` (the others run one)."""
    names = service_ports()
    replicas: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition("=")
        if name not in names:
            raise StackError(f"REPLICAS names no service {name!r} (one of {', '.join(names)})")
        if not count.isdigit() or not 1 <= int(count) <= 16:
            raise StackError(f"REPLICAS gives {name} no count from 1 to 16: {item!r}")
        replicas[name] = int(count)
    return replicas


def upstream_variable(service: str) -> str:
    """The template variable holding a service's address: ``points`` -> ``POINTS_UPSTREAM``."""
    return f"{service.upper()}_UPSTREAM"


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill ``${NAME}`` placeholders as the nginx image's envsubst does; each must have a value."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"the gateway template needs ${{{name}}}")
        return values[name]

    return _PLACEHOLDER.sub(fill, template)


def upstream_servers(ports: Sequence[int]) -> str:
    """The value of an upstream variable for replicas on local ports: the template's
    ``server ${X_UPSTREAM};`` becomes one ``server`` line per replica (nginx balances them)."""
    return ";\n    server ".join(f"127.0.0.1:{port}" for port in ports)


def gateway_values(
    listen: str,
    ports: Mapping[str, int],
    max_body_bytes: int,
    extra_ports: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, str]:
    """Template values for a gateway in front of services on local ports (``extra_ports``: the
    ports of a service's other replicas)."""
    extra_ports = extra_ports or {}
    values = {
        upstream_variable(name): upstream_servers([port, *extra_ports.get(name, ())])
        for name, port in ports.items()
    }
    values.update(
        GATEWAY_LISTEN=listen,
        GATEWAY_HTML_ROOT=str(GATEWAY_DIR),
        MAX_BODY_BYTES=str(max_body_bytes),
    )
    return values


def _main_config(runtime: Path) -> str:
    """The top-level nginx.conf around the rendered template; every file stays under ``runtime``."""
    # As root, nginx would run its workers as "nobody", who cannot read a private data dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"    {kind}_temp_path {runtime / 'tmp' / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes auto;\npid {runtime / 'nginx.pid'};\ndaemon off;\n"
        "events {\n    worker_connections 1024;\n}\n"
        f"http {{\n{temp_paths}    include {runtime / 'gateway.conf'};\n}}\n"
    )


def write_nginx_config(runtime: Path, values: Mapping[str, str]) -> Path:
    """Render the gateway into ``runtime``; returns the nginx.conf to start nginx with."""
    (runtime / "tmp").mkdir(parents=True, exist_ok=True)
    (runtime / "gateway.conf").write_text(render_template(TEMPLATE.read_text(), values))
    config = runtime / "nginx.conf"
    config.write_text(_main_config(runtime))
    return config


def find_nginx() -> str | None:
    """The nginx binary; Debian puts it in /usr/sbin, which a normal user's PATH may lack."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_command(config: Path, *args: str) -> list[str]:
    """nginx with ``config``, logging errors to stderr; ``args`` such as ``-t``."""
    nginx = find_nginx()
    if nginx is None:
        raise StackError("nginx is not installed (Debian: apt-get install nginx)")
    return [nginx, "-p", str(config.parent), "-c", str(config), "-e", "stderr", *args]


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Raise StackError naming the first port (of ``name``) something already listens on."""
    for name, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and nginx do
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as exc:
                raise StackError(
                    f"port {port} ({name}) is taken: {exc.strerror}; choose another with "
                    "PORT=... for the gateway or SERVICE_PORTS=free (or name=port,...)"
                ) from exc


def _accepts_connections(port: int) -> bool:
    """Something listens on ``port`` (no HTTP request, so nothing is logged)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


OCCUPANCY_BUCKET = "occupancy-logs"


@contextmanager
def object_store() -> Iterator[dict[str, str]]:
    """moto's S3 server on a free loopback port with occupancy's bucket, and the variables that
    point occupancy at it; nothing when ``OCCUPANCY_S3_BUCKET`` names a bucket already."""
    if os.environ.get("OCCUPANCY_S3_BUCKET"):
        yield {}
        return
    import boto3  # type: ignore[import-untyped]  # dev group: make stack and the tests have it
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {
            "OCCUPANCY_S3_BUCKET": OCCUPANCY_BUCKET,
            "OCCUPANCY_S3_ENDPOINT_URL": f"http://{host}:{port}",
            "OCCUPANCY_S3_ACCESS_KEY_ID": "moto",
            "OCCUPANCY_S3_SECRET_ACCESS_KEY": "moto-dev-only",
        }
        s3 = boto3.client(
            "s3",
            endpoint_url=env["OCCUPANCY_S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id=env["OCCUPANCY_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=env["OCCUPANCY_S3_SECRET_ACCESS_KEY"],
        )
        s3.create_bucket(Bucket=OCCUPANCY_BUCKET)
        yield env
    finally:
        server.stop()


def _services_environment(port: int, database_url: str | None, data_dir: Path) -> dict[str, str]:
    """``make dev``'s environment (database resolved and migrated), without keeping it here."""
    saved = dict(os.environ)
    try:
        os.environ["DATA_DIR"] = str(data_dir)
        if database_url:
            os.environ["DATABASE_URL"] = database_url
        prepare_environment(port)
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.setdefault("WEB_CONCURRENCY", "1")  # one worker per service unless asked for more
        # each service's common.serve makes a metrics folder of its own: a shared one would mix them
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
        return env
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Stack:
    """The running processes: a ``common.serve`` per service replica and nginx in front at
    ``url``. ``ports`` holds each service's first replica, ``extra_ports`` the others'."""

    url: str
    port: int
    ports: dict[str, int]
    env: dict[str, str]
    log_dir: Path | None
    nginx_config: Path
    extra_ports: dict[str, list[int]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)
    _logs: ExitStack = field(default_factory=ExitStack, init=False, repr=False)

    def _output(self, name: str) -> IO[bytes] | None:
        """Where a process writes: ``<log_dir>/<name>.log``, or this terminal."""
        if self.log_dir is None:
            return None
        return self._logs.enter_context((self.log_dir / f"{name}.log").open("ab"))

    def _spawn(self, name: str, command: list[str]) -> None:
        output = self._output(name)
        self.processes[name] = subprocess.Popen(  # noqa: S603 (our own commands, no shell)
            command,
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            process_group=0,  # Ctrl-C reaches only this process, which stops the others in order
        )

    def instances(self) -> dict[str, tuple[str, int]]:
        """Process name -> (service, port): ``points`` is its first replica, ``points-2``... the
        others."""
        found: dict[str, tuple[str, int]] = {}
        for name, port in self.ports.items():
            for number, each in enumerate([port, *self.extra_ports.get(name, ())], start=1):
                found[name if number == 1 else f"{name}-{number}"] = (name, each)
        return found

    def start_service(self, instance: str) -> None:
        """Start one service replica (``points``, ``points-2``) on its port; it must not run."""
        name, port = self.instances()[instance]
        command = [sys.executable, "-m", "common.serve", name]
        self._spawn(instance, [*command, "--host", "127.0.0.1", "--port", str(port)])

    def start_nginx(self) -> None:
        self._spawn("nginx", nginx_command(self.nginx_config))

    def stop(self, *names: str, timeout: float = 10) -> None:
        """Stop processes (services or ``nginx``) together: SIGTERM, SIGKILL after ``timeout``."""
        for name in names:
            self.processes[name].terminate()
        for name in names:
            process = self.processes.pop(name)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        """nginx first, so nothing new arrives, then every service; then close the log files."""
        if "nginx" in self.processes:
            self.stop("nginx")
        self.stop(*self.processes)
        self._logs.close()

    def check_alive(self) -> None:
        """Raise StackError when a process has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                where = f"; see {self.log_dir / f'{name}.log'}" if self.log_dir else ""
                raise StackError(f"{name} exited with {process.returncode}{where}")

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait until every service is ready and nginx, if started, listens."""
        deadline = time.monotonic() + timeout
        self.wait_for_services(deadline)
        if "nginx" in self.processes:
            self.wait_for_gateway(deadline)

    def wait_for_services(self, deadline: float) -> None:
        """Wait until every ``/<name>/readyz`` answers 200 on the service's own port (asking
        through nginx would fill its log with 502s while they start)."""
        instances = self.instances()
        waiting = set(instances)
        with httpx.Client(timeout=2) as client:
            while waiting:
                self._check_progress(deadline, waiting)
                for instance in sorted(waiting):
                    name, port = instances[instance]
                    if _answers(client, f"http://127.0.0.1:{port}/{name}/readyz"):
                        waiting.discard(instance)
                time.sleep(0.1 if waiting else 0)

    def wait_for_gateway(self, deadline: float) -> None:
        """Wait until nginx accepts connections (a bare connect: nothing in its log)."""
        while not _accepts_connections(self.port):
            self._check_progress(deadline, {"nginx"})
            time.sleep(0.05)

    def _check_progress(self, deadline: float, waiting: set[str]) -> None:
        """Raise StackError when a process died or the deadline passed with ``waiting`` left."""
        self.check_alive()
        if time.monotonic() > deadline:
            raise StackError(f"not ready in time: {', '.join(sorted(waiting))}")

    def watch(self, interval: float = 0.5) -> None:
        """Block until a process dies (StackError) or this process is interrupted."""
        while True:
            self.check_alive()
            time.sleep(interval)


def _answers(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def running_stack(
    *,
    port: int = 8000,
    database_url: str | None = None,
    data_dir: Path | None = None,
    ports: Mapping[str, int] | None = None,
    log_dir: Path | None = None,
    replicas: Mapping[str, int] | None = None,
) -> Iterator[Stack]:
    """Migrate, start every service, then nginx on ``port`` once they are ready; stop them on exit.

    ``database_url`` defaults to ``DATABASE_URL`` or the embedded server under ``data_dir``
    (``DATA_DIR``, ``.data``); ``ports`` replaces the services' ports from ``services.json``;
    ``log_dir`` collects each process's output in ``<name>.log`` instead of this terminal;
    ``replicas`` runs that many of a service (the others on free ports), behind one upstream.
    """
    settings = CommonSettings()
    # nginx reads -c relative to -p, and the services run from the checkout: an absolute path
    data_dir = (data_dir or settings.data_dir).resolve()
    ports = dict(ports or service_ports())
    extra_ports = {
        name: [free_port() for _ in range(count - 1)]
        for name, count in (replicas or {}).items()
        if count > 1
    }
    check_ports_free({"gateway": port} | ports)
    values = gateway_values(f"127.0.0.1:{port}", ports, settings.max_body_bytes, extra_ports)
    with object_store() as s3_env:
        stack = Stack(
            url=f"http://127.0.0.1:{port}",
            port=port,
            ports=ports,
            env={**_services_environment(port, database_url, data_dir), **s3_env},
            log_dir=log_dir,
            nginx_config=write_nginx_config(data_dir / "stack", values),
            extra_ports=extra_ports,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            for instance in stack.instances():
                stack.start_service(instance)
            stack.wait_for_services(deadline)
            stack.start_nginx()
            stack.wait_for_gateway(deadline)
            yield stack
        finally:
            stack.stop_all()


def _stop_on_signal(signum: int, frame: object) -> None:
    """The first SIGINT or SIGTERM stops the stack; later ones must not cut its shutdown short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(0)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="make stack", description="Each service in its own uvicorn process, behind nginx."
    )
    parser.add_argument(
        "--service-ports",
        default=os.environ.get("SERVICE_PORTS", ""),
        metavar="SPEC",
        help="the services' ports: 'free' (any free ones) or 'name=port,...' (the others keep "
        "those of services.json); default: $SERVICE_PORTS",
    )
    parser.add_argument(
        "--replicas",
        default=os.environ.get("REPLICAS", ""),
        metavar="SPEC",
        help="'name=count,...': run that many replicas of a service behind nginx; "
        "default: $REPLICAS",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGINT, _stop_on_signal)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), default_service="stack")
    port = int(os.environ.get("PORT", "8000"))
    try:
        ports = chosen_service_ports(args.service_ports)
        replicas = chosen_replicas(args.replicas)
        with running_stack(port=port, ports=ports, replicas=replicas) as stack:
            logger.info(
                "serving",
                extra={
                    "url": f"http://localhost:{port}/",
                    "ports": {name: each for name, (_, each) in stack.instances().items()},
                    "workers": stack.env["WEB_CONCURRENCY"],
                },
            )
            stack.watch()
    except StackError as exc:
        logger.error("stack failed", extra={"error": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
