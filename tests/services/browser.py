"""Headless Chromium through Playwright, and the app served on 127.0.0.1 for it.

``chromium`` (session scope) launches the Debian Chromium at /usr/bin/chromium — never
a browser that ``playwright install`` downloads. ``page`` (function scope) is a fresh
context, so cookies never leak between tests. ``live_server`` serves this test's
``app`` in a background thread. Without Chromium or Playwright the tests skip, except
under CI=true, where they fail.

Playwright's sync API refuses to run inside a running asyncio loop; these fixtures
never start one.
"""
from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest

from tests.services.common import free_port, need_binary, unavailable

CHROMIUM = "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the rest keep it from reaching the network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TIMEOUT_MS = 10_000


class LiveServer:
    """``app`` on a free port, threaded, until :meth:`stop`."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="live-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = need_binary("chromium", CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright; no `playwright install`)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as exc:   # a broken Chromium install: say what happened
        playwright.stop()
        unavailable(f"Chromium at {executable} did not start: {exc}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()
