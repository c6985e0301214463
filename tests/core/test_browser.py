"""The web shell in a real browser: headless Chromium signs in with a real user, sees
the dashboard and its navigation, searches from the keyboard and signs out."""
from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    """The browser exercises the screens, not the database: SQLite keeps it quick."""
    return "sqlite"


def test_sign_in_search_and_sign_out(page, live_server, make_user):
    from playwright.sync_api import expect
    make_user("owner", username="bea")
    tech_id, _ = make_user("technician", username="tomas")
    base = live_server.url

    page.goto(base + "/reports")
    expect(page).to_have_url(re.compile(r"/login\?next=/reports$"))
    page.fill("#username", "bea")
    page.fill("#password", "not her password")
    page.click("#sign-in")
    expect(page.locator(".flash.error")).to_have_text("Wrong username or password.")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")                    # the form submits from the keyboard
    expect(page).to_have_url(base + "/reports")     # back where she was going

    page.goto(base + "/")
    expect(page.locator("h1")).to_have_text("Good to see you, bea")
    nav = page.locator("nav.main")
    for key in ("reports", "users", "settings", "audit", "jobs"):
        expect(nav.locator(f'[data-menu="{key}"]')).to_be_visible()
    expect(nav.locator('[data-menu="roles"]')).to_have_count(0)   # owners don't manage roles
    expect(page.locator('[data-card="jobs"]')).to_contain_text("0 failed")

    page.keyboard.press("/")                        # "/" jumps to the search box
    expect(page.locator("#search-box")).to_be_focused()
    page.keyboard.type("tomas")
    page.keyboard.press("Enter")                    # a lone exact hit opens the record
    expect(page).to_have_url(f"{base}/admin/users/{tech_id}")
    expect(page.locator("h1")).to_have_text("tomas")

    page.fill("#search-box", "t")
    page.press("#search-box", "Enter")
    expect(page.locator("ol.results li")).to_have_count(1)
    expect(page.locator("#search-box")).to_have_value("t")

    page.click("#sign-out")
    expect(page).to_have_url(base + "/login")
    expect(page.locator(".flash")).to_have_text("You are signed out.")
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
