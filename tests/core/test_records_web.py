"""The records' screens through Flask's test client: every list, detail, create and
edit page renders for a role that may see it and is a 403 for one that may not; the
forms create and change records through the services; a bad form is shown again with
the service's message and its status (422, or 409 for a clash) and writes nothing;
a scanned serial or barcode in the search box opens its record."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.core.test_web import Browser, html, menu_keys


@pytest.fixture
def backend() -> str:
    """The screens, not the database, are under test here: SQLite keeps it quick."""
    return "sqlite"


@pytest.fixture
def browser(client: Any) -> Browser:
    return Browser(client)


@pytest.fixture
def shop(runtime: Any) -> dict[str, Any]:
    """A vendor, a serialized product with a unit in stock at the store, a part with
    stock, a customer, and a second location."""
    from core.records import catalog, items, parties, stock
    with runtime.unit_of_work() as s:
        vendor = parties.create_vendor(s, None, {"name": "Trek Bicycle Corporation",
                                                 "kind": "manufacturer"})
        bike = catalog.create_product(s, None, {"sku": "BK-FX2", "barcode": "036000291452",
                                                "name": "Trek FX 2", "price": "849.99",
                                                "cost": "552.00", "serialized": True,
                                                "vendor_id": vendor.id})
        tube = catalog.create_product(s, None, {"sku": "PT-TUBE", "name": "Inner tube 700c",
                                                "kind": "part", "price": "8.99"})
        store = stock.create_location(s, None, {"name": "Store", "kind": "store"})
        back = stock.create_location(s, None, {"name": "Back room", "kind": "warehouse"})
        unit = items.create_item(s, None, {"product_id": bike.id, "serial": "WTU123C4567L",
                                           "location_id": store.id})
        stock.move_stock(s, None, product_id=tube.id, from_location_id=None,
                         to_location_id=back.id, quantity=10, reason="opening stock")
        customer = parties.create_customer(s, None, {"name": "Maria Gonzalez",
                                                     "phone": "(555) 010-2030",
                                                     "email": "maria@example.com"})
        return {"vendor": vendor.id, "bike": bike.id, "tube": tube.id, "store": store.id,
                "back": back.id, "item": unit.id, "customer": customer.id}


def signed_in(browser: Browser, make_user: Any, role: str | None) -> Browser:
    name = f"{role or 'nobody'}_user"
    make_user(*([role] if role else []), username=name)
    browser.sign_in(name)
    return browser


def count(runtime: Any, model: Any) -> int:
    with runtime.unit_of_work(write=False) as s:
        return s.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------- every page

# (path, a role that may open it, a role that may not)
PAGES = [
    ("/customers", "read_only", None),
    ("/customers?q=555-010-2030", "cashier", None),
    ("/customers/new", "cashier", "read_only"),
    ("/customers/{customer}", "read_only", None),
    ("/customers/{customer}/edit", "technician", "finance"),
    ("/vendors", "read_only", None),
    ("/vendors/new", "manager", "cashier"),
    ("/vendors/{vendor}", "read_only", None),
    ("/vendors/{vendor}/edit", "manager", "cashier"),
    ("/products", "read_only", None),
    ("/products?q=trek", "cashier", None),
    ("/products/new", "manager", "cashier"),
    ("/products/{bike}", "read_only", None),
    ("/products/{tube}/edit", "owner", "technician"),
    ("/items", "read_only", None),
    ("/items?serial=wtu123c4567l", "technician", None),
    ("/items/new", "technician", "read_only"),
    ("/items/{item}", "read_only", None),
    ("/items/{item}/edit", "cashier", "finance"),
    ("/stock", "read_only", None),
    ("/stock?location_id={store}", "cashier", None),
    ("/stock?product_id={tube}", "finance", None),
]


@pytest.mark.parametrize("path, allowed, denied", PAGES)
def test_page_renders_for_a_role_that_may_see_it(browser, make_user, shop, path, allowed, denied):
    resp = signed_in(browser, make_user, allowed).get(path.format(**shop))
    assert resp.status_code == 200, html(resp)[-500:]
    page = html(resp)
    assert "<h1" in page and 'id="search-box"' in page


@pytest.mark.parametrize("path, allowed, denied", PAGES)
def test_page_is_403_for_a_role_that_may_not(browser, make_user, shop, path, allowed, denied):
    resp = signed_in(browser, make_user, denied).get(path.format(**shop))
    assert resp.status_code == 403
    assert "You need the permission" in html(resp)


def test_unknown_records_are_404_pages(browser, make_user, shop):
    signed_in(browser, make_user, "owner")
    for path in ("/customers/9999", "/vendors/9999", "/products/9999/edit", "/items/9999"):
        resp = browser.get(path)
        assert resp.status_code == 404 and 'data-status="404"' in html(resp)


def test_menu_shows_the_record_screens_a_role_may_use(browser, make_user):
    assert {"customers", "units", "products", "stock", "vendors"} <= \
        menu_keys(html(signed_in(browser, make_user, "read_only").get("/")))
    browser.post("/logout")
    assert not {"customers", "units", "products", "stock", "vendors"} & \
        menu_keys(html(signed_in(browser, make_user, None).get("/")))


def test_detail_pages_show_history_and_timeline(browser, make_user, shop, runtime):
    from core.records import items, parties
    with runtime.unit_of_work() as s:
        unit = items.get_item(s, shop["item"])
        items.update_item(s, None, unit, {"status": "sold", "owner_id": shop["customer"],
                                          "reason": "sold at the counter"})
    signed_in(browser, make_user, "read_only")
    unit_page = html(browser.get(f"/items/{shop['item']}"))
    assert "Into stock at Store" in unit_page and "Out of stock at Store" in unit_page
    assert "sold at the counter" in unit_page and "Maria Gonzalez" in unit_page
    customer_page = html(browser.get(f"/customers/{shop['customer']}"))
    assert "Trek FX 2 · serial WTU123C4567L" in customer_page      # the timeline's unit entry
    assert f'href="/items/{shop["item"]}"' in customer_page
    assert "Customer created" in customer_page
    product_page = html(browser.get(f"/products/{shop['bike']}"))
    assert "WTU123C4567L" in product_page and "Trek Bicycle Corporation" in product_page
    with runtime.unit_of_work(write=False) as s:
        assert parties.get_customer(s, shop["customer"]).name == "Maria Gonzalez"


# ------------------------------------------------------------- customers

def test_create_customer_then_find_them_by_phone_in_another_format(browser, make_user, shop):
    signed_in(browser, make_user, "cashier")
    browser.get("/customers/new")
    resp = browser.post("/customers/new", {"name": "Ana Lima", "phone": "(555) 777-1234",
                                           "email": "", "contact_channel": "",
                                           "marketing_opt_out": "false"})
    assert resp.status_code == 302
    page = html(browser.get(resp.headers["Location"]))
    assert "Customer Ana Lima created." in page and "(555) 777-1234" in page
    assert "sms" in page                       # no e-mail: SMS by default
    for typed in ("555-777-1234", "5557771234", "+1 555 777 1234", "777-1234"):
        found = html(browser.get("/customers", query_string={"q": typed}))
        assert "Ana Lima" in found and "Maria Gonzalez" not in found, typed


def test_a_likely_duplicate_is_pointed_out_after_create(browser, make_user, shop):
    signed_in(browser, make_user, "manager")
    browser.get("/customers/new")
    resp = browser.post("/customers/new", {"name": "MARIA GONZALEZ", "phone": "555.010.2030"})
    page = html(browser.get(resp.headers["Location"]))
    assert "Possibly a duplicate of Maria Gonzalez" in page
    assert 'id="duplicates"' in page and f'value="{shop["customer"]}"' in page   # merge button
    new_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    merged = browser.post(f"/customers/{new_id}/merge", {"from_id": str(shop["customer"])})
    assert merged.status_code == 302
    assert "merged into this one" in html(browser.get(merged.headers["Location"]))
    assert "Merged into" in html(browser.get(f"/customers/{shop['customer']}"))


def test_a_bad_customer_form_is_422_with_the_message_and_writes_nothing(browser, make_user, shop,
                                                                        runtime):
    from core.records.parties import Customer
    before = count(runtime, Customer)
    signed_in(browser, make_user, "cashier")
    browser.get("/customers/new")
    resp = browser.post("/customers/new", {"name": "No Mail", "phone": "",
                                           "contact_channel": "email"})
    assert resp.status_code == 422
    page = html(resp)
    assert "E-mail needs an e-mail address." in page and 'value="No Mail"' in page
    resp = browser.post("/customers/new", {"name": "Bad Mail", "email": "not-an-address"})
    assert resp.status_code == 422 and "Not a valid email address." in html(resp)
    assert count(runtime, Customer) == before


def test_edit_customer_clears_a_field_and_refuses_a_blank_name(browser, make_user, shop, runtime):
    from core.records.parties import get_customer
    signed_in(browser, make_user, "technician")
    path = f"/customers/{shop['customer']}/edit"
    browser.get(path)
    resp = browser.post(path, {"name": "Maria Gonzalez-Ruiz", "phone": "(555) 010-2030",
                               "email": "", "contact_channel": "sms", "address": "",
                               "notes": "", "marketing_opt_out": "true"})
    assert resp.status_code == 302
    with runtime.unit_of_work(write=False) as s:
        c = get_customer(s, shop["customer"])
        assert (c.name, c.email, c.contact_channel, c.marketing_opt_out) == \
            ("Maria Gonzalez-Ruiz", None, "sms", True)
    resp = browser.post(path, {"name": "", "phone": ""})
    assert resp.status_code == 422 and 'class="field-error" id="name-error"' in html(resp)
    with runtime.unit_of_work(write=False) as s:
        assert get_customer(s, shop["customer"]).name == "Maria Gonzalez-Ruiz"


def test_a_form_without_the_csrf_token_is_refused(browser, make_user, shop, runtime):
    from core.records.parties import Customer
    before = count(runtime, Customer)
    signed_in(browser, make_user, "cashier")
    resp = browser.post("/customers/new", {"name": "Sneaky"}, csrf=False)
    assert resp.status_code == 400 and count(runtime, Customer) == before


# --------------------------------------------------------- vendors, products

def test_vendor_and_product_forms(browser, make_user, shop, runtime):
    from core.models import AuditEntry
    from core.records.catalog import Product, get_product
    signed_in(browser, make_user, "manager")
    browser.get("/vendors/new")
    resp = browser.post("/vendors/new", {"name": "Riverside Electronics Repair", "kind": "service",
                                         "default_lead_time_days": "5", "active": "true"})
    assert resp.status_code == 302
    vendor_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert "Riverside Electronics Repair" in html(browser.get("/vendors?kind=service"))
    resp = browser.post("/vendors/new", {"name": "Slow Co", "default_lead_time_days": "-3"})
    assert resp.status_code == 422 and "greater than or equal to 0" in html(resp)

    browser.get("/products/new")
    resp = browser.post("/products/new", {"sku": "TV-LG-C3", "barcode": "8806084000002",
                                          "name": "LG OLED C3 55", "kind": "goods",
                                          "price": "1499.99", "cost": "1160.00",
                                          "serialized": "true", "vendor_id": str(vendor_id)})
    assert resp.status_code == 302, html(resp)
    product_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    edit = f"/products/{product_id}/edit"
    form = html(browser.get(edit))
    assert 'value="1499.99"' in form and "checked" in form
    resp = browser.post(edit, {"sku": "TV-LG-C3", "barcode": "8806084000002", "name": "LG OLED C3 55",
                               "kind": "goods", "price": "1399.99", "cost": "1160.00",
                               "serialized": "false", "tax_rate": "8.25",
                               "vendor_id": str(vendor_id), "description": "",
                               "min_stock": "1", "reorder_qty": "2", "active": "true"})
    assert resp.status_code == 302
    with runtime.unit_of_work(write=False) as s:
        p = get_product(s, product_id)
        assert str(p.price) == "1399.99" and p.serialized is False   # no units yet: may flip
        assert s.scalar(select(AuditEntry.after).where(
            AuditEntry.action == "product.price_changed"))["price"] == "1399.99"
    before = count(runtime, Product)
    resp = browser.post("/products/new", {"sku": "TV-BAD", "barcode": "8806084000003",
                                          "name": "Bad code", "price": "1.00"})
    assert resp.status_code == 422 and "check digit is wrong: expected 2, got 3" in html(resp)
    resp = browser.post("/products/new", {"sku": "BK-FX2", "name": "Twin", "price": "1.00"})
    assert resp.status_code == 409 and "Already used." in html(resp)
    resp = browser.post("/products/new", {"sku": "SV-X", "name": "Tune", "kind": "service",
                                          "price": "abc", "serialized": "true"})
    assert resp.status_code == 422 and "Not a number." in html(resp)
    assert count(runtime, Product) == before


# ------------------------------------------------------------------ units

def test_record_a_unit_by_scanning_the_barcode_then_change_it(browser, make_user, shop, runtime):
    from core.records.items import Item, get_item
    signed_in(browser, make_user, "technician")
    form = html(browser.get(f"/items/new?owner_id={shop['customer']}"))
    assert 'value="customer_owned" selected' in form
    resp = browser.post("/items/new", {"product": "036000291452", "serial": " wtu 999 ",
                                       "status": "customer_owned",
                                       "owner_id": str(shop["customer"]),
                                       "location_id": str(shop["back"]),
                                       "notes": "in for a tune-up"})
    assert resp.status_code == 302, html(resp)
    item_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    page = html(browser.get(f"/items/{item_id}"))
    assert "Unit recorded (customer_owned)" in page and "Maria Gonzalez" in page

    before = count(runtime, Item)
    resp = browser.post("/items/new", {"product": "NOPE-1", "serial": "X1", "status": "in_stock"})
    assert resp.status_code == 422 and "No product &#39;NOPE-1&#39;." in html(resp)
    resp = browser.post("/items/new", {"product": "BK-FX2", "serial": "WTU123C4567L",
                                       "status": "in_stock", "location_id": str(shop["store"])})
    assert resp.status_code == 409 and "Already unit" in html(resp)
    assert count(runtime, Item) == before

    edit = f"/items/{shop['item']}/edit"
    browser.get(edit)
    resp = browser.post(edit, {"status": "in_stock", "location_id": "", "owner_id": "",
                               "notes": "", "reason": ""})
    assert resp.status_code == 422 and "Required for status in_stock." in html(resp)
    resp = browser.post(edit, {"status": "in_stock", "location_id": str(shop["back"]),
                               "owner_id": "", "notes": "", "reason": "to the back room"})
    assert resp.status_code == 302
    with runtime.unit_of_work(write=False) as s:
        assert get_item(s, shop["item"]).location_id == shop["back"]
    assert "Moved from Store to Back room" in html(browser.get(f"/items/{shop['item']}"))


def test_search_box_opens_a_scanned_serial_or_barcode(browser, make_user, shop):
    signed_in(browser, make_user, "cashier")
    resp = browser.get("/search", query_string={"q": "wtu123c4567l"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/items/{shop['item']}"
    resp = browser.get("/search", query_string={"q": "0036000291452"})   # its EAN-13 spelling
    assert resp.status_code == 302 and resp.headers["Location"] == f"/products/{shop['bike']}"
    assert browser.get(resp.headers["Location"]).status_code == 200


# ------------------------------------------------------------------ stock

def test_stock_move_form_transfers_by_serial_and_adjusts_counts(browser, make_user, shop, runtime):
    from core.records.stock import ledger_on_hand
    signed_in(browser, make_user, "manager")
    page = html(browser.get("/stock"))
    assert 'id="move-form"' in page and "Inner tube 700c" in page
    resp = browser.post("/stock/moves", {"product": "BK-FX2", "from_location_id": str(shop["store"]),
                                         "to_location_id": str(shop["back"]), "quantity": "",
                                         "serials": "wtu123c4567l\n", "reason": "make room"})
    assert resp.status_code == 302, html(resp)
    resp = browser.post("/stock/moves", {"product": "PT-TUBE", "from_location_id": str(shop["back"]),
                                         "to_location_id": "", "quantity": "2",
                                         "reason": "damaged"})
    assert resp.status_code == 302
    page = html(browser.get(resp.headers["Location"]))
    assert "Stock moved: 2 × Inner tube 700c." in page
    with runtime.unit_of_work(write=False) as s:
        assert ledger_on_hand(s, shop["bike"], shop["back"]) == 1
        assert ledger_on_hand(s, shop["bike"], shop["store"]) == 0
        assert ledger_on_hand(s, shop["tube"], shop["back"]) == 8
    assert "make room" in html(browser.get(f"/items/{shop['item']}"))


def test_a_bad_stock_move_says_why_and_moves_nothing(browser, make_user, shop, runtime):
    from core.records.stock import StockMove
    before = count(runtime, StockMove)
    signed_in(browser, make_user, "owner")
    browser.get("/stock")
    resp = browser.post("/stock/moves", {"product": "BK-FX2", "from_location_id": str(shop["store"]),
                                         "to_location_id": str(shop["back"]), "quantity": "1",
                                         "reason": "no serial"})
    assert resp.status_code == 422 and "0 given for quantity 1." in html(resp)
    resp = browser.post("/stock/moves", {"product": "PT-TUBE", "from_location_id": str(shop["back"]),
                                         "quantity": "11", "reason": "too many"})
    assert resp.status_code == 409 and "Only 10 available" in html(resp)
    resp = browser.post("/stock/moves", {"product": "PT-TUBE", "quantity": "1", "reason": ""})
    assert resp.status_code == 422
    assert 'value="PT-TUBE"' in html(resp)               # what was typed is kept
    assert count(runtime, StockMove) == before
    signed_in(browser, make_user, "cashier")             # may see stock, not adjust it
    assert 'id="move-form"' not in html(browser.get("/stock"))
    browser.get("/stock")
    assert browser.post("/stock/moves", {"product": "PT-TUBE", "to_location_id": str(shop["back"]),
                                         "quantity": "1", "reason": "x"}).status_code == 403


def test_a_new_location_from_the_stock_page(browser, make_user, shop):
    signed_in(browser, make_user, "manager")
    browser.get("/stock")
    resp = browser.post("/locations", {"name": "Service van", "kind": "van"})
    assert resp.status_code == 302
    assert "Service van" in html(browser.get("/stock"))
    resp = browser.post("/locations", {"name": "Store", "kind": "store"})
    assert resp.status_code == 409 and "exists" in html(resp)
