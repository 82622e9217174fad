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


def proxied_locations() -> dict[tuple[str, ...], str]:
    """Location arguments (``("/points/",)``, ``("=", "/points")``) -> the upstream it names."""
    return {
        tuple(location.args): location.all("proxy_pass")[0].args[0]
        for location in SERVER.all("location")
        if location.all("proxy_pass")
    }


OCCUPANCY_EVENTS = "^/occupancy/rooms/[^/]+/events$"

# matching's bulk routes: their own location, for their own client_max_body_size.
MATCHING_BULK_LOCATION = (
    "^/matching/("
    + "|".join(route.removeprefix("/matching/") for route in MATCHING_BULK_ROUTES)
    + ")$"
)


def test_every_prefix_and_its_bare_path_and_nothing_else_go_to_its_service() -> None:
    """``= /points`` too: else nginx redirects /points to /points/ and FastAPI back (a loop)."""
    expected = {}
    for prefix, name in routing_table().items():
        expected[(f"/{prefix}/",)] = f"http://{name}"
        expected[("=", f"/{prefix}")] = f"http://{name}"
    expected[("~", MATCHING_BULK_LOCATION)] = "http://matching"
    expected[("~", OCCUPANCY_EVENTS)] = "http://occupancy"  # live events, inside /occupancy/
    assert proxied_locations() == expected


def test_occupancy_events_stream_unbuffered_and_outlive_the_heartbeat() -> None:
    (events,) = [d for d in SERVER.all("location") if d.args == ["~", OCCUPANCY_EVENTS]]
    assert events.all("proxy_buffering")[0].args == ["off"]
    read_timeout = events.all("proxy_read_timeout")[0].args[0]
    assert int(read_timeout.removesuffix("s")) > 2 * 15  # the default heartbeat is 15 s


def test_the_access_log_falls_back_to_exactly_the_routed_prefixes() -> None:
    """The prefix map names every prefix (a new one would log nothing where it sends no X-Route)."""
    (prefix_map,) = [d for d in CONFIG.all("map") if d.args[1] == "$gateway_prefix"]
    alternatives = re.search(r"\(\?<\w+>([a-z|]+)\)", prefix_map.block[0].name)
    assert alternatives is not None
    assert sorted(alternatives.group(1).split("|")) == sorted(routing_table())


def test_the_access_log_records_the_route_never_the_raw_path() -> None:
    (log_format,) = CONFIG.all("log_format")
    line = "".join(log_format.args[2:])
    fields = json.loads(re.sub(r":(\$\w+)", r':"\1"', line))  # numbers ($status) unquoted
    assert fields["route"] == "$gateway_route"
    assert not {"$uri", "$request_uri", "$gateway_request_path"} & set(fields.values())
    (route_map,) = [d for d in CONFIG.all("map") if d.args[1] == "$gateway_route"]
    assert route_map.args[0] == "$upstream_http_x_route"
    assert "X-Route" in {d.args[0] for d in SERVER.all("proxy_hide_header")}


def test_every_response_forbids_sniffing_and_framing() -> None:
    """``always``: on errors too; no location has add_header of its own (it would drop these)."""
    headers = {d.args[0]: d.args[1:] for d in SERVER.block if d.name == "add_header"}
    assert headers["X-Content-Type-Options"] == ["nosniff", "always"]
    assert headers["X-Frame-Options"] == ["DENY", "always"]
    assert headers["Content-Security-Policy"] == ["frame-ancestors 'none'", "always"]
    assert all(not location.all("add_header") for location in SERVER.all("location"))


def test_redirects_nginx_makes_name_no_host() -> None:
    """Else a redirect of nginx's own would carry the client's Host header back."""
    assert [d.args for d in SERVER.all("absolute_redirect")] == [["off"]]


def test_metrics_are_not_served_through_the_gateway() -> None:
    (metrics,) = [d for d in SERVER.all("location") if d.args[0] == "~" and "metrics" in d.args[1]]
    assert re.match(metrics.args[1], "/points/metrics")
    assert metrics.all("return")[0].args == ["404"]


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


@pytest.mark.usefixtures("nginx")
def test_nginx_accepts_an_upstream_of_several_replicas(tmp_path: Path) -> None:
    extra = {"points": [9102, 9103]}
    values = gateway_values("127.0.0.1:8000", service_ports(), 1024, extra)
    assert values["POINTS_UPSTREAM"] == (
        f"127.0.0.1:{service_ports()['points']};\n    server 127.0.0.1:9102;\n"
        "    server 127.0.0.1:9103"
    )
    config = write_nginx_config(tmp_path, values)
    result = subprocess.run(  # noqa: S603
        nginx_command(config, "-t"), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    rendered = (tmp_path / "gateway.conf").read_text()
    assert "    server 127.0.0.1:9103;\n    keepalive 64;" in rendered
