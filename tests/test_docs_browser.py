"""Every service's ``/docs`` through the gateway, in a real headless Chromium, offline.

Swagger UI must render from assets the platform serves (no CDN): any request for a host other
than the gateway's 127.0.0.1 is refused by the browser context and fails the test, as does any
console error. On customers' docs, Authorize (the OAuth2 password form) and one call work.
"""

import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from gateway.stack import Stack, service_ports
from tests.conftest import installed

pytestmark = pytest.mark.e2e

SERVICES = sorted(service_ports())
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "violet-harbor-quilt-1987"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium (``apt-get install chromium``); Playwright cannot download its own here."""
    chromium = installed(shutil.which("chromium"), "chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@dataclass
class PageWatch:
    """What a page must not do: log console errors, throw, or send requests off the machine."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    async def stay_local(self, route: Route) -> None:
        """Let requests to 127.0.0.1 through; refuse and record every other."""
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            self.outside_requests.append(route.request.url)
            await route.abort()

    def assert_clean(self) -> None:
        assert self.outside_requests == []
        assert self.page_errors == []
        assert self.console_errors == []


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    fresh = await browser.new_context()
    yield fresh
    await fresh.close()


async def open_docs(context: BrowserContext, url: str) -> tuple[Page, PageWatch]:
    """Open a docs page watched from its first request until Swagger UI lists the operations."""
    watch = PageWatch()
    await context.route("**/*", watch.stay_local)
    page = await context.new_page()
    page.on("console", lambda m: m.type == "error" and watch.console_errors.append(m.text))
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    response = await page.goto(url, wait_until="networkidle")
    assert response is not None
    assert response.status == 200
    await page.locator(".opblock").first.wait_for()
    return page, watch


@pytest.mark.parametrize("service", SERVICES)
async def test_docs_render_offline_with_no_console_error(
    stack: Stack, context: BrowserContext, service: str
) -> None:
    page, watch = await open_docs(context, f"{stack.url}/{service}/docs")
    assert service in await page.locator(".information-container .title").inner_text()
    assert await page.locator(f'.opblock-summary-path[data-path="/{service}/healthz"]').count()
    assert await page.locator(".errors-wrapper").count() == 0
    watch.assert_clean()


def signed_up_customer(stack: Stack) -> str:
    email = f"docs-{uuid.uuid4().hex[:12]}@example.com"
    response = httpx.post(
        f"{stack.url}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 201, response.text
    return email


async def authorize(page: Page, email: str) -> None:
    """Swagger's Authorize dialog: the OAuth2 password flow against customers' /auth/login."""
    await page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".modal-ux")
    await dialog.locator("#oauth_username").fill(email)
    await dialog.locator("#oauth_password").fill(PASSWORD)
    await dialog.get_by_role("button", name="Apply given OAuth2 credentials").click()
    await dialog.get_by_role("button", name="Remove authorization").wait_for()
    await dialog.get_by_role("button", name="Close").first.click()


async def try_out(page: Page, method: str, path: str) -> tuple[str, str]:
    """Expand an operation, Try it out, Execute; the response's status and body as shown."""
    operation = page.locator(f'.opblock-{method}:has(.opblock-summary-path[data-path="{path}"])')
    await operation.locator(".opblock-summary").click()
    await operation.locator(".try-out__btn").click()
    await operation.locator(".execute").click()
    live = operation.locator(".live-responses-table .response")
    await live.first.wait_for()
    status = await live.locator(".response-col_status").first.inner_text()
    body = await live.locator(".response-col_description .microlight").first.inner_text()
    return status.strip(), body


async def test_authorize_and_a_call_work_on_customers_docs(
    stack: Stack, context: BrowserContext
) -> None:
    email = signed_up_customer(stack)
    page, watch = await open_docs(context, f"{stack.url}/customers/docs")
    await authorize(page, email)
    status, body = await try_out(page, "get", "/auth/me")
    assert status == "200"
    assert email in body
    watch.assert_clean()
