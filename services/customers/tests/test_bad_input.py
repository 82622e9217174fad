"""Bad input gets a 4xx problem+json and stores nothing."""

import asyncio
from typing import Any

import pytest

GOOD_SIGNUP = {"email": "new@example.com", "password": "violet-harbor-quilt-1987"}


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD_SIGNUP, **changes}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(with_(email="not-an-email"), "email", id="malformed email"),
        pytest.param(with_(email="two@@example.com"), "email", id="two at signs"),
        pytest.param(with_(email="a" * 250 + "@example.com"), "email", id="long email"),
        pytest.param(with_(country="XX"), "country", id="unknown country"),
        pytest.param(with_(country="DEU"), "country", id="alpha-3 country"),
        pytest.param(with_(language="xx"), "language", id="unknown language"),
        pytest.param(with_(language="fr"), "language", id="language not offered"),
        pytest.param(with_(role="admin"), "role", id="unknown field"),
        pytest.param(with_(email=123), "email", id="number as email"),
        pytest.param(with_(country=["DE"]), "country", id="list as country"),
        pytest.param(with_(password=None), "password", id="null password"),
        pytest.param({"email": "new@example.com"}, "password", id="missing password"),
        pytest.param(with_(password="short1!"), "password", id="7 characters"),
        pytest.param(with_(password="x" * 129), "password", id="129 characters"),
        pytest.param(with_(password="password123"), "password", id="common password"),
        pytest.param(with_(password="qwertyuiop"), "password", id="keyboard walk"),
        pytest.param(with_(password="new@example.com"), "password", id="the email itself"),
    ],
)
async def test_signup_refuses_bad_input_and_stores_nothing(
    api, body: dict[str, Any], field: str
) -> None:
    response = await api.client.post("/auth/signup", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert field in {str(part) for error in problem["errors"] for part in error["loc"]}
    assert "violet-harbor" not in response.text  # the input is never echoed
    assert await api.count("customers") == 0
    assert await api.count("credentials") == 0


async def test_a_long_strong_password_is_accepted(api) -> None:
    await api.signup("long@example.com", password="Zq8#" + "river-stone-" * 10)  # 124 characters


async def test_signup_body_over_the_size_limit_is_413(api) -> None:
    response = await api.client.post("/auth/signup", json=with_(country="D" * 2_000_000))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert await api.count("customers") == 0


async def test_malformed_json_is_422(api) -> None:
    response = await api.client.post(
        "/auth/signup", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert await api.count("customers") == 0


async def test_duplicate_email_is_409_whatever_its_case(api) -> None:
    await api.signup("dup@example.com")
    response = await api.client.post("/auth/signup", json=with_(email="DUP@Example.COM"))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert await api.count("customers") == 1


async def test_concurrent_signups_with_one_email_create_one_customer(api) -> None:
    answers = await asyncio.gather(
        *(api.client.post("/auth/signup", json=with_(email="same@example.com")) for _ in range(4))
    )
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409]
    assert await api.count("customers") == 1
    assert await api.count("credentials") == 1


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        pytest.param(b'{"email": "a@example.com"}', "application/json", 422, id="missing password"),
        pytest.param(
            b'{"email": "a@example.com", "password": "x", "x": 1}',
            "application/json",
            422,
            id="unknown field",
        ),
        pytest.param(b"{", "application/json", 422, id="malformed json"),
        pytest.param(
            b"username=a%40example.com",
            "application/x-www-form-urlencoded",
            422,
            id="form without password",
        ),
        pytest.param(
            b"username=nope&password=x",
            "application/x-www-form-urlencoded",
            422,
            id="form with a malformed email",
        ),
        pytest.param(
            b"grant_type=implicit&username=a%40example.com&password=x",
            "application/x-www-form-urlencoded",
            422,
            id="other grant",
        ),
        pytest.param(b"email=a@example.com", "text/plain", 415, id="plain text"),
    ],
)
async def test_login_refuses_bad_bodies(
    api, content: bytes, content_type: str, status: int
) -> None:
    response = await api.client.post(
        "/auth/login", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await api.count("login_attempts") == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/refresh", {"refresh_token": 5}),
        ("/auth/refresh", {"refresh_token": "x" * 8193}),  # past any token (MAX_TOKEN_CHARS)
        ("/auth/logout", {}),
        ("/auth/password-reset/request", {"email": "nope"}),
        ("/auth/password-reset/confirm", {"token": "t", "new_password": "short"}),
        (
            "/auth/password-reset/confirm",
            {"token": "t", "new_password": "violet-harbor-quilt-1987", "x": 1},
        ),
    ],
)
async def test_other_auth_endpoints_refuse_bad_bodies(api, path: str, body: dict[str, Any]) -> None:
    response = await api.client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def admin_headers(api) -> dict[str, str]:
    await api.signup("root@example.com")
    await api.execute("UPDATE customers.customers SET roles = '{admin}'")
    return api.bearer(await api.login("root@example.com"))


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        pytest.param("/customers/a%00b", {}, 400, id="NUL in the path"),
        pytest.param("/customers", {"email_prefix": "\x00"}, 400, id="NUL in the query"),
        pytest.param("/customers", {"offset": "9223372036854775808"}, 422, id="offset past int8"),
        pytest.param("/customers", {"offset": "1000001"}, 422, id="offset past the bound"),
        pytest.param("/customers", {"limit": "0"}, 422, id="empty page"),
    ],
)
async def test_reads_with_unstorable_input_are_4xx_problems(
    api, path: str, params: dict[str, str], status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = await admin_headers(api)
    response = await api.client.get(path, params=params, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "root@example.com" not in capsys.readouterr().out  # no SQL parameters in any log
