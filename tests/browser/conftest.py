"""A live server of the app and Debian's chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import services
from tests.conftest import serving

# Keep chromium from reaching for the network, which this machine does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium, headless, launched by path (never a downloaded browser).

    One per module: Playwright's sync API allows one running instance per thread, and other
    modules (the security tools' checks) start their own.
    """
    path = services.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served over HTTP on a free local port; yields its base URL."""
    with serving(app) as base:
        app.config["BASE_URL"] = base
        yield base


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser page that records script errors and dialogs."""
    context = browser.new_context()
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


@pytest.fixture
def page_without_js(browser) -> Iterator[object]:
    """A browser page with JavaScript turned off."""
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()
