"""The records' screens in a real browser (headless Debian Chromium): a cashier
creates a customer from the keyboard, finds them by the phone number typed another
way, is warned of a likely duplicate while typing, then scans a unit's serial into
the search box and lands on the unit with its history."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    """The browser exercises the screens, not the database: SQLite keeps it quick."""
    return "sqlite"


@pytest.fixture
def unit_in_stock(runtime: Any) -> int:
    from core.records import catalog, items, stock
    with runtime.unit_of_work() as s:
        tv = catalog.create_product(s, None, {"sku": "TV-SAM-55Q60C", "barcode": "036000291452",
                                              "name": "Samsung 55\" QLED Q60C", "price": "649.99",
                                              "serialized": True})
        store = stock.create_location(s, None, {"name": "Store", "kind": "store"})
        return items.create_item(s, None, {"product_id": tv.id, "serial": "0BR73CAT500123N",
                                           "location_id": store.id, "reason": "opening stock"}).id


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")


def test_create_a_customer_and_find_them_by_phone_in_another_format(page, live_server, make_user):
    from playwright.sync_api import expect
    make_user("cashier", username="cleo")
    base = live_server.url
    sign_in(page, base, "cleo")

    page.locator('nav.main [data-menu="customers"]').click()
    expect(page.locator("#q")).to_be_focused()              # the list's search box
    page.click("#new-customer")
    expect(page.locator("#f-name")).to_be_focused()         # the first field
    page.keyboard.type("Dana Whitfield")
    page.keyboard.press("Tab")
    page.keyboard.type("(555) 010-2030")
    page.keyboard.press("Tab")
    page.keyboard.type("dana@example.com")
    page.keyboard.press("Enter")                            # Enter submits
    expect(page.locator("h1")).to_have_text("Dana Whitfield")
    expect(page.locator(".flash.success")).to_have_text("Customer Dana Whitfield created.")
    expect(page.locator("#customer-facts")).to_contain_text("(555) 010-2030")
    customer_url = page.url

    for typed in ("555-010-2030", "5550102030"):
        page.goto(base + "/customers")
        page.keyboard.type(typed)                           # autofocused: just type
        page.keyboard.press("Enter")
        rows = page.locator("#customers tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Dana Whitfield")
    rows.first.locator("a").click()
    expect(page).to_have_url(customer_url)
    expect(page.locator("#timeline")).to_contain_text("Customer created")

    # Typing the same number again, another way, on a new customer: pointed out at once.
    page.goto(base + "/customers/new")
    page.fill("#f-name", "D. Whitfield")
    page.fill("#f-phone", "555.010.2030")
    page.keyboard.press("Tab")
    expect(page.locator("#duplicate-hint")).to_be_visible()
    expect(page.locator("#duplicate-hint")).to_contain_text("Already a customer: Dana Whitfield")


def test_scan_a_serial_into_the_search_box_and_see_the_units_history(page, live_server, make_user,
                                                                       unit_in_stock):
    from playwright.sync_api import expect
    make_user("technician", username="tomas")
    base = live_server.url
    sign_in(page, base, "tomas")

    page.keyboard.press("/")                                # the search box, from anywhere
    expect(page.locator("#search-box")).to_be_focused()
    page.keyboard.type("0br73cat500123n")                   # a scanner types, then Enter
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/items/{unit_in_stock}")
    expect(page.locator("h1")).to_have_text('Samsung 55" QLED Q60C · 0BR73CAT500123N')
    expect(page.locator("#item-status")).to_have_text("in stock")
    history = page.locator("#history li")
    expect(history).to_have_count(2)
    expect(page.locator("#history")).to_contain_text("Into stock at Store")
    expect(page.locator("#history")).to_contain_text("Unit recorded (in_stock)")

    # The barcode on the box opens the product, which lists the unit.
    page.keyboard.press("/")
    page.keyboard.type("036000291452")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/products/\d+$"))
    expect(page.locator("#product-units")).to_contain_text("0BR73CAT500123N")
