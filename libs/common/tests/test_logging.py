"""Access logs are JSON lines that name the request and its subject, and never the token."""

import json
import logging
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from common.context import RequestContext, reset_current_request, set_current_request
from common.logging import configure_logging
from common.testing import TokenFactory


async def test_access_line_has_request_fields_and_subject_but_no_token(
    client: httpx.AsyncClient, token_factory: TokenFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {**token_factory.auth("carol"), "X-Request-ID": "req-42"}
    await client.get("/probe/me", headers=headers)
    output = capsys.readouterr().out
    access = [json.loads(line) for line in output.splitlines() if '"logger": "access"' in line]
    assert access == [
        {
            "ts": access[0]["ts"],
            "level": "info",
            "service": "probe",
            "logger": "access",
            "msg": "request",
            "request_id": "req-42",
            "subject": "carol",
            "method": "GET",
            "route": "/probe/me",
            "status": 200,
            "duration_ms": access[0]["duration_ms"],
        }
    ]
    assert headers["Authorization"].split()[1] not in output


def test_a_blocked_stdout_does_not_block_the_caller_and_nothing_is_lost_at_exit(
    tmp_path: Path,
) -> None:
    """The writer thread writes; the logging call returns while stdout is stuck, and every
    line queued is written before the process ends."""
    script = tmp_path / "logs.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging, sys, threading, time
            from common.logging import configure_logging

            class StuckStdout:
                def __init__(self, real):
                    self.real, self.open = real, threading.Event()
                def write(self, text):
                    self.open.wait()
                    return self.real.write(text)
                def flush(self):
                    self.real.flush()

            configure_logging("INFO", default_service="probe")
            stuck = StuckStdout(sys.stdout)
            sys.stdout = stuck
            began = time.perf_counter()
            for number in range(5000):
                logging.getLogger("probe").info("line %d", number, extra={"n": number})
            print(f"logged in {time.perf_counter() - began:.3f} s", file=sys.stderr)
            stuck.open.set()
            """
        )
    )
    finished = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in finished.stdout.splitlines()]
    assert [line["n"] for line in lines] == list(range(5000))
    assert lines[-1]["msg"] == "line 4999"
    assert lines[-1]["service"] == "probe"
    seconds = float(finished.stderr.split()[2])
    assert seconds < 5  # the writes wait on stdout; the logging calls did not


def test_a_process_ended_by_its_signal_after_its_app_stopped_loses_no_line(
    tmp_path: Path,
) -> None:
    """What uvicorn does at SIGTERM: the app's lifespan ends (``write_logs_directly``), uvicorn
    logs its last lines, then raises SIGTERM again with the default action, so no ``atexit``."""
    script = tmp_path / "stopped.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging, os, signal
            from common.logging import configure_logging, write_logs_directly

            configure_logging("INFO", default_service="probe")
            for number in range(2000):
                logging.getLogger("probe").info("line %d", number)
            write_logs_directly()
            logging.getLogger("uvicorn.error").info("Finished server process")
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            """
        )
    )
    finished = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert finished.returncode == -signal.SIGTERM
    lines = [json.loads(line)["msg"] for line in finished.stdout.splitlines()]
    assert lines == [f"line {number}" for number in range(2000)] + ["Finished server process"]


def test_the_request_fields_are_taken_on_the_callers_thread(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The writer formats later, on its thread: the request id must come with the record."""
    configure_logging("INFO", default_service="probe")
    token = set_current_request(RequestContext(service="probe", request_id="req-7", subject="x"))
    try:
        logging.getLogger("probe").warning("inside %s", "a request")
    finally:
        reset_current_request(token)
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "inside" in line]
    assert line["msg"] == "inside a request"
    assert (line["request_id"], line["subject"]) == ("req-7", "x")
