"""Access logs are JSON lines that name the request and its subject, and never the token."""

import json

import httpx
import pytest

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
