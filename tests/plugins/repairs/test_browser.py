"""The service desk in a real browser (headless Debian Chromium): a cashier-manager
takes in a customer's own laptop from the keyboard (phone look-up, serial, problem,
deposit), previews and prints the drop-off receipt, moves it through diagnosis,
records a part and labour and sends the estimate; the customer approves it on the
public status page; the ticket goes ready and is checked out."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    """The browser exercises the screens, not the database: SQLite keeps it quick."""
    return "sqlite"


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")


def test_laptop_from_drop_off_to_pickup(page: Any, chromium: Any, live_server: Any,
                                        make_user: Any, desk: Any) -> None:
    from playwright.sync_api import expect
    make_user("manager", username="mo")
    customer = desk.customer("Rosa Parks", "(555) 321-7788")
    laptop = desk.laptop()
    store = desk.location("Front store")
    fan = desk.product(name="Cooling fan", kind="part", price="35.00")
    desk.stock_in(fan["id"], store["id"], 2)
    base = live_server.url
    sign_in(page, base, "mo")

    # intake: phone first (typed another way), pick the customer, scan the serial
    page.locator('nav.main [data-menu="repairs-intake"]').click()
    expect(page.locator("#phone")).to_be_focused()
    page.keyboard.type("555.321.7788")
    page.keyboard.press("Enter")
    page.click(f'[data-customer="{customer["id"]}"]')
    expect(page.locator("#intake-customer")).to_have_text("Rosa Parks")
    expect(page.locator("#serial")).to_be_focused()
    page.select_option("#product_id", str(laptop["id"]))
    page.fill("#serial", "PF-3XK 771")
    page.fill("#problem", "Loud fan, shuts down when hot")
    page.fill("#accessories", "charger")
    page.fill("#condition", "scratched lid")
    page.fill("#deposit_amount", "20.00")
    page.click("#open-ticket")
    expect(page.locator(".flash.success")).to_contain_text("opened")
    number = page.locator("#ticket-number").get_attribute("data-ticket")
    expect(page.locator("#ticket-status")).to_have_attribute("data-status", "received")

    # the drop-off receipt: preview, then print (no printer: the page says so)
    page.click("#receipt-preview-link")
    preview = page.locator("#receipt-preview")
    expect(preview).to_contain_text("PF-3XK 771")
    expect(preview).to_contain_text("Rosa Parks")
    expect(preview).to_contain_text("Loud fan")
    expect(preview).to_contain_text("/repairs/status/R-")
    page.go_back()
    page.click("#print-receipt")
    expect(page.locator(".flash")).to_contain_text("printer")

    # diagnosis, a part, labour, the estimate
    page.select_option("#transition-to", "diagnosing")
    page.click("#transition-submit")
    expect(page.locator("#ticket-status")).to_have_attribute("data-status", "diagnosing")
    page.select_option("#part-product", str(fan["id"]))
    page.click("#add-part")
    expect(page.locator("#work")).to_contain_text("reserved")
    page.fill("#labor-minutes", "45")
    page.fill("#labor-description", "Replace fan, clean heatsink")
    page.click("#add-labor")
    expect(page.locator("#work")).to_contain_text("45 min")
    page.fill("#estimate-note", "New fan and cleaning")
    page.click("#send-estimate")
    expect(page.locator("#ticket-status")).to_have_attribute("data-status", "awaiting_approval")
    status_url = page.locator("#status-link").get_attribute("href")

    # the customer, not signed in, approves on the public page
    customer_ctx = chromium.new_context(locale="en-US")
    try:
        public = customer_ctx.new_page()
        public.goto(base + status_url)
        expect(public.locator("#status-label")).to_have_attribute("data-status", "awaiting_approval")
        expect(public.locator("#estimate")).to_contain_text("80.00")
        expect(public.locator("body")).not_to_contain_text("Rosa")
        public.click("#approve")
        expect(public.locator("#status-label")).to_have_attribute("data-status", "in_repair")
        expect(public.locator(".flash")).to_contain_text("Thank you")
    finally:
        customer_ctx.close()

    # ready, then checkout: 35 + 45 min at 60/h = 80, less the 20 deposit
    page.reload()
    expect(page.locator("#ticket-status")).to_have_attribute("data-status", "in_repair")
    expect(page.locator("#timeline")).to_contain_text("status_link")
    page.select_option("#transition-to", "ready")
    page.click("#transition-submit")
    expect(page.locator("#ticket-status")).to_have_attribute("data-status", "ready")
    page.click("#checkout-submit")
    expect(page.locator("#ticket-status")).to_have_attribute("data-status", "collected")
    expect(page.locator("#timeline")).to_contain_text("60.00 due")
    t = desk.ticket(int(number))
    assert t["status"] == "collected" and t["parts"][0]["status"] == "consumed"
    assert desk.level(fan["id"], store["id"])["on_hand"] == 1
