"""The till in a real browser (Playwright + Debian Chromium), keyboard only: ring up
a serialized bike and a helmet for a customer found by phone, pay part card part
cash, and land on the receipt preview with the serial and the totals."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.plugins.pos.conftest import Shop

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_ring_up_a_bike_and_a_helmet_pay_card_and_cash(page: Any, live_server: Any, shop: Shop,
                                                       make_user: Any) -> None:
    make_user("cashier", username="cass")
    base = live_server.url
    page.goto(base + "/login")
    page.fill("#username", "cass")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")
    page.locator('nav.main [data-menu="till"]').click()
    page.wait_for_selector("#scan")
    assert page.evaluate("document.activeElement.id") == "scan"
    page.keyboard.type("BIKE-1")                 # a scanner is a keyboard
    page.keyboard.press("Enter")
    page.wait_for_selector("#serial-label:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "serial"
    page.keyboard.type("wtu124")
    page.keyboard.press("Enter")
    page.keyboard.type("036000291452")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#lines tbody tr').length === 2")
    page.keyboard.press("F2")
    page.keyboard.type("555-0100")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('customer-name').textContent.includes('Ada')")
    assert page.inner_text("#total") == "1136.61"      # 1082.50 + 54.11
    page.keyboard.press("F8")
    page.select_option("#tender-method", "card")
    page.fill("#tender-amount", "1000.00")
    page.keyboard.press("Enter")
    page.select_option("#tender-method", "cash")
    page.fill("#tender-amount", "140.00")
    page.keyboard.press("Enter")
    assert page.inner_text("#change") == "3.39"
    page.keyboard.press("F9")
    page.wait_for_url(base + "/pos/sales/*")
    receipt = page.inner_text("#receipt-preview")
    assert "Serial: WTU124" in receipt          # the unit as recorded, not as typed
    assert "Helmet" in receipt and "1136.61" in receipt and "Ada Rider" in receipt
    assert "3.39" in page.inner_text("#change-due")
    assert page.is_visible("#print") and page.is_visible("#email")
