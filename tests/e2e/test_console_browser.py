"""The operator's console in a real browser: Debian's Chromium driven by Playwright against the real
`smsplatform serve`, its built-in simulators and a customer's callback receiver.

One platform for the whole run: an operator logs in, approves a pending template, finds a sent
message by its number and follows its timeline to DELIVRD, sees a chart with data, watches a link go
down while its simulator drops connections and come back; a reviewer finds no control to change a
customer and a forged POST refused; a form without its CSRF token is refused. Screenshots of the main
pages go to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from smsplatform.simulator.control import control_request
from tests.e2e.receiver import Receiver, receiver
from tests.e2e.support import CLI, Platform, free_port_block, platform_env, running, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery"
SIGNATURE = "【进制数据】"
TEMPLATE = "您的验证码是@，5分钟内有效"
MOBILE = "13800138000"  # China Mobile (sim-cmpp); the last digit 0 is delivered
# The built-in simulators' control ports follow their protocols' order: smpp, cmpp, sgip, smgp.
CMPP_CONTROL_OFFSET = 1
WAIT_MS = 20_000

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")


@pytest.fixture(scope="module")
def callbacks() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    control = free_port_block(4)
    env = platform_env(
        auto_approve="0",  # templates wait for the operator
        dispatch_workers="0",  # one process, one link per connector: quicker to start and to watch
        simulator_control_port=str(control),
    )
    with running(Platform(data_dir=tmp_path_factory.mktemp("console"), env=env)) as started:
        yield started


def create_operator(platform: Platform, name: str, role: str) -> None:
    command = ["operator", "create", name, "--role", role, "--password-stdin"]
    done = subprocess.run(
        [*CLI, *command, "--data-dir", str(platform.data_dir)],
        env=platform.env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def console(platform: Platform, callbacks: Receiver) -> dict[str, Any]:
    """Operators, and a customer whose sub-account is approved and whose template waits for review."""
    create_operator(platform, "ada", "admin")
    create_operator(platform, "rita", "reviewer")
    appkey = platform.cli("customer", "create", "--name", "进制数据科技", "--totalnum", "1000")
    account = platform.api(
        "addaccount",
        appkey=appkey,
        company="进制数据",
        signature=SIGNATURE,
        totalnum="500",
        statusurl=callbacks.url("/status"),
    )
    accountid = account["result"]["accountid"]
    platform.cli("account", "approve", accountid)
    template = platform.api(
        "addtemplate", appkey=appkey, accountid=accountid, name="code", content=TEMPLATE, ismarket="0"
    )
    assert template["result"]["status"] == "0", template  # pending
    return {
        "url": f"http://127.0.0.1:{platform.env['SMSPLATFORM_ADMIN_PORT']}",
        "appkey": appkey,
        "accountid": accountid,
        "templateid": template["result"]["templateid"],
        "control": int(platform.env["SMSPLATFORM_SIMULATOR_CONTROL_PORT"]) + CMPP_CONTROL_OFFSET,
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def log_in(browser: Any, base: str, name: str) -> Any:
    context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    # Script errors and CSP violations (the console allows no inline script or style) fail the test.
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto("/")
    assert page.url.endswith("/login?next=/")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def script_errors(page: Any) -> list[str]:
    """What the browser reported as errors, but the refusals the test itself provoked."""
    return [e for e in page.errors if "status of 403" not in e and "status of 401" not in e]


def text_after_reload(page: Any, selector: str) -> str:
    """The text at `selector` of the page loaded afresh ("" when absent): it does not refresh itself."""
    page.reload()
    found = page.locator(selector)
    return str(found.inner_text()) if found.count() else ""


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_operator_reviews_finds_a_message_and_watches_the_links(
    platform: Platform, console: dict[str, Any], browser: Any, callbacks: Receiver
) -> None:
    page = log_in(browser, console["url"], "ada")
    assert page.locator("header .operator").inner_text().startswith("ada")

    # Review: the pending template, approved in place.
    page.click("nav >> text=Review")
    row = page.locator(f"#template-{console['templateid']}")
    assert TEMPLATE in row.inner_text()
    shot(page, "review")
    row.locator("button", has_text="Approve").click()
    page.locator(f"#template-{console['templateid']}.row-done").wait_for()
    assert "approved" in page.locator(f"#template-{console['templateid']}").inner_text()

    # The approved template now sends: find the message by its number, follow it to DELIVRD.
    sent = platform.api(
        "send", appkey=console["appkey"], mobile=MOBILE, content=f"{SIGNATURE}您的验证码是1234，5分钟内有效"
    )
    assert sent["status"] == "0", sent
    page.click("nav >> text=Messages")
    page.fill("#message-search input[name=mobile]", MOBILE)
    page.click("#message-search button[type=submit]")
    result = page.locator("#message-results tbody tr").first
    assert MOBILE in result.inner_text() and "进制数据科技" in result.inner_text()
    shot(page, "messages")
    result.locator("td a").first.click()
    page.wait_for_url(re.compile(r"/messages/\d+$"))
    wait_for(lambda: text_after_reload(page, "#stat") == "DELIVRD", 30, "the message to show DELIVRD")
    wait_for(lambda: callbacks.items("/status"), 15, "the status report at the receiver")
    wait_for(
        lambda: "Report delivered to the customer" in text_after_reload(page, "#timeline"),
        15,
        "the timeline to show the report delivered",
    )
    timeline = page.locator("#timeline").inner_text()
    assert timeline.index("Accepted") < timeline.index("Submitted to the carrier") < timeline.index("DELIVRD")
    shot(page, "message")

    # The dashboard: figures and a chart with data, switched to the last hour in place.
    page.click("nav >> text=Dashboard")
    page.click("#charts >> text=1 hour")
    page.locator("#charts a.active", has_text="1 hour").wait_for()
    assert page.locator("#charts svg path.series").count() > 0
    assert page.locator("#today .value").first.inner_text() != "0"
    shot(page, "dashboard")

    # A link goes down while its simulator drops every connection, and comes back.
    page.click("nav >> text=Connectors")
    link = page.locator("#connector-sim-cmpp")
    page.locator("#connector-sim-cmpp[data-state=bound]").wait_for()
    with dropping_connections(console["control"]):
        page.locator(
            "#connector-sim-cmpp[data-state=backoff], #connector-sim-cmpp[data-state=connecting]"
        ).wait_for(timeout=30_000)
        assert link.locator(".link-state").inner_text() in ("down, retrying", "connecting")
    page.locator("#connector-sim-cmpp[data-state=bound]").wait_for(timeout=30_000)
    assert link.locator(".link-state").inner_text() == "up"
    assert link.locator("td").nth(5).inner_text().strip()  # the last error, kept after recovery
    shot(page, "connectors")

    # Customers, and a form posted without its CSRF token: refused, nothing changed.
    page.click("nav >> text=Customers")
    page.click("#customers >> text=进制数据科技")
    shot(page, "customers")
    page.fill("#customer-controls input[name=amount]", "100")
    page.locator("#customer-controls form[action$='/topup'] input[name=csrf]").evaluate("e => e.remove()")
    with page.expect_navigation() as navigation:
        page.click("#customer-controls button:has-text('Top up')")
    assert navigation.value.status == 403
    assert "did not come from this console" in page.inner_text("main")
    page.go_back()
    page.reload()
    assert "1,000" in page.locator("dl.facts").first.inner_text()  # the quota as it was
    assert not script_errors(page)
    page.context.close()


def test_a_reviewer_cannot_change_a_customer(console: dict[str, Any], browser: Any) -> None:
    page = log_in(browser, console["url"], "rita")
    assert "reviewer" in page.locator("header .operator").inner_text()
    page.goto("/customers")
    page.click("#customers >> text=进制数据科技")
    assert page.locator("#customer-controls").count() == 0
    assert page.locator("form[action*='/customers/']").count() == 0
    assert page.locator("text=New customer").count() == 0
    customer_path = page.url.removeprefix(console["url"])
    # The session's own token, as a forged page would have to steal it: the role still refuses.
    token = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    forged = page.request.post(f"{customer_path}/disable", form={"csrf": token})
    assert forged.status == 403
    page.reload()
    assert page.locator("h1 .badge", has_text="enabled").count() == 1
    assert not script_errors(page)
    page.context.close()


@contextmanager
def dropping_connections(port: int) -> Iterator[None]:
    """The simulator cuts every connection, again and again, while the block runs: the link keeps
    losing its session, so its health report shows it down."""
    stop = threading.Event()

    def drop() -> None:
        while not stop.is_set():
            with suppress(OSError, RuntimeError):
                asyncio.run(control_request("127.0.0.1", port, "drop_connections"))
            stop.wait(0.1)

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
