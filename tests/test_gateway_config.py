"""gateway/nginx.conf.template against the routing table, and nginx's own verdict on it."""

import json
import re
import subprocess
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

import pytest

from common.settings import CommonSettings
from gateway.devserver import routing_table
from gateway.stack import (
    TEMPLATE,
    gateway_values,
    nginx_command,
    render_template,
    service_ports,
    upstream_variable,
    write_nginx_config,
)
from matching.main import BULK_ROUTES as MATCHING_BULK_ROUTES

TOKEN = re.compile(
    r"""#[^\n]*|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[{};]|(?:\$\{\w+\}|[^\s{};'"#])+"""
)


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list["Directive"] = field(default_factory=list)

    def all(self, name: str) -> list["Directive"]:
        """Directives called ``name`` inside this block, at any depth."""
        found = [child for child in self.block if child.name == name]
        return found + [hit for child in self.block for hit in child.all(name)]


def parse(text: str) -> Directive:
    """nginx's configuration syntax: directives ending in ``;`` or holding a ``{ block }``."""
    stack = [Directive("main", [])]
    words: list[str] = []
    for token in TOKEN.findall(text):
        if token == "{":
            directive = Directive(words[0], words[1:])
            stack[-1].block.append(directive)
            stack.append(directive)
            words = []
        elif token == ";":
            stack[-1].block.append(Directive(words[0], words[1:]))
            words = []
        elif token == "}":
            stack.pop()
        elif not token.startswith("#"):
            words.append(token[1:-1] if token[0] in "'\"" else token)
    assert len(stack) == 1, "unbalanced braces"
    assert not words, "a directive without its semicolon"
    return stack[0]


CONFIG = parse(TEMPLATE.read_text())
SERVER = CONFIG.all("server")[0]


def proxied_locations() -> dict[str, str]:
    """Location -> the upstream its proxy_pass names."""
    return {
        location.args[-1]: location.all("proxy_pass")[0].args[0]
        for location in SERVER.all("location")
        if location.all("proxy_pass")
    }


# matching's bulk routes: their own location, for their own client_max_body_size.
MATCHING_BULK_LOCATION = (
    "^/matching/("
    + "|".join(route.removeprefix("/matching/") for route in MATCHING_BULK_ROUTES)
    + ")$"
)


def test_every_prefix_and_nothing_else_goes_to_its_service() -> None:
    expected = {f"/{prefix}/": f"http://{name}" for prefix, name in routing_table().items()}
    assert proxied_locations() == expected | {MATCHING_BULK_LOCATION: "http://matching"}


def test_every_service_is_an_upstream_filled_from_its_variable() -> None:
    upstreams = {
        upstream.args[0]: [server.args[0] for server in upstream.all("server")]
        for upstream in CONFIG.all("upstream")
    }
    assert upstreams == {name: [f"${{{upstream_variable(name)}}}"] for name in service_ports()}


def test_the_template_needs_exactly_the_documented_variables() -> None:
    variables = set(re.findall(r"\$\{([A-Z_]+)\}", TEMPLATE.read_text()))
    expected = {upstream_variable(name) for name in service_ports()}
    assert variables == expected | {"GATEWAY_LISTEN", "GATEWAY_HTML_ROOT", "MAX_BODY_BYTES"}


def test_rendering_refuses_a_missing_variable() -> None:
    with pytest.raises(KeyError, match="POINTS_UPSTREAM"):
        render_template("server ${POINTS_UPSTREAM};", {})


def test_prefixes_reach_the_service_unchanged() -> None:
    """proxy_pass without a URI part: nginx passes the client's path as it came."""
    for upstream in proxied_locations().values():
        assert re.fullmatch(r"http://[a-z]+", upstream)


def test_the_body_limit_is_the_variable_the_services_read() -> None:
    assert SERVER.all("client_max_body_size")[0].args == ["${MAX_BODY_BYTES}"]
    assert "MAX_BODY_BYTES" in {
        field.validation_alias for field in CommonSettings.model_fields.values()
    }


def test_the_request_id_goes_upstream_and_back_and_forwarded_headers_are_set() -> None:
    headers = {d.args[0]: d.args[1] for d in SERVER.all("proxy_set_header")}
    assert headers["X-Request-ID"] == "$gateway_request_id"
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-Host"] == "$http_host"
    assert SERVER.all("add_header")[0].args == ["X-Request-ID", "$gateway_request_id", "always"]


def test_upstream_errors_are_never_intercepted() -> None:
    """The services' own problem+json must reach the client as they wrote it."""
    assert all(d.args != ["on"] for d in CONFIG.all("proxy_intercept_errors"))


def problem_pages() -> dict[int, str]:
    """Status -> the internal location error_page sends it to (``=431``: answered as 431)."""
    return {
        int(code): d.args[-1]
        for d in SERVER.all("error_page")
        for code in d.args[:-1]
        if not code.startswith("=")
    }


def test_the_gateway_answers_its_own_errors_with_problems() -> None:
    assert {400, 404, 405, 413, 414, 494, 500, 502, 503, 504} <= problem_pages().keys()


@pytest.mark.parametrize("target", sorted(set(problem_pages().values())))
def test_every_error_page_is_an_rfc9457_problem(target: str) -> None:
    location = next(d for d in SERVER.all("location") if d.args == ["=", target])
    (response,) = location.all("return")
    status = int(response.args[0])
    text = render_template(response.args[1], {"MAX_BODY_BYTES": "1048576"})
    body = json.loads(
        text.replace("$gateway_request_path", "/x").replace("$gateway_request_id", "a")
    )
    assert body == {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": body["detail"],
        "instance": "/x",
        "request_id": "a",
    }
    assert target == f"/_gateway/problem/{status}"


def test_problem_pages_are_internal_and_typed_as_problems() -> None:
    (problems,) = [d for d in SERVER.all("location") if d.args == ["^~", "/_gateway/problem/"]]
    assert problems.all("internal")
    assert problems.all("default_type")[0].args == ["application/problem+json"]


@pytest.mark.usefixtures("nginx")
def test_nginx_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    values = gateway_values("127.0.0.1:8000", service_ports(), CommonSettings().max_body_bytes)
    config = write_nginx_config(tmp_path, values)
    command = nginx_command(config, "-t")
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
