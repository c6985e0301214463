"""Sales at the till, through the API and the services: pricing, tax, tenders,
serialized units, overrides, idempotency, and bad input that writes nothing."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.plugins.pos.conftest import Shop, bike_sale


def counts(runtime: Any) -> dict[str, Any]:
    """What a refused sale must not have changed."""
    from core.models import AuditEntry
    from core.records.items import Item
    from core.records.stock import StockLevel, StockMove
    from plugins.pos.models import Payment, Sale, SaleLine
    with runtime.unit_of_work(write=False) as s:
        return {
            "sales": s.scalar(select(func.count(Sale.id))),
            "lines": s.scalar(select(func.count(SaleLine.id))),
            "payments": s.scalar(select(func.count(Payment.id))),
            "moves": s.scalar(select(func.count(StockMove.id))),
            "audit": s.scalar(select(func.count(AuditEntry.id))),
            "items": sorted((i.serial, i.status, i.owner_id) for i in s.scalars(select(Item))),
            "levels": sorted((lv.product_id, lv.location_id, lv.on_hand)
                             for lv in s.scalars(select(StockLevel))),
        }


def test_a_sale_prices_taxes_and_sells_the_unit(api: Any, shop: Shop, runtime: Any) -> None:
    resp = api.post("pos/sales", json=bike_sale(shop))
    assert resp.status_code == 201, resp.json
    sale = resp.json
    assert sale["number"] == f"S-{sale['id']:06d}"
    bike, helmet = sale["lines"]
    # 1000.00 × 8.25 % = 82.50; 2 × 49.99 = 99.98 × 8.25 % = 8.248… → 8.25 (half-up per line)
    assert (bike["net"], bike["tax"], bike["total"]) == ("1000.00", "82.50", "1082.50")
    assert (helmet["net"], helmet["tax"], helmet["total"]) == ("99.98", "8.25", "108.23")
    assert (sale["subtotal"], sale["tax"], sale["total"]) == ("1099.98", "90.75", "1190.73")
    assert (sale["paid"], sale["change_due"]) == ("1200.00", "9.27")
    assert bike["serial"] == "WTU123" and bike["item_id"]
    item = api.get(f"items/{bike['item_id']}").json
    assert item["status"] == "sold" and item["owner_id"] == shop.customer_id
    assert item["location_id"] is None
    stock = {r["product_id"]: r for r in api.get(f"stock?location_id={shop.location_id}").json["items"]}
    assert stock[shop.bike_id]["on_hand"] == 2 and stock[shop.helmet_id]["on_hand"] == 18
    from core.records.stock import verify_levels
    with runtime.unit_of_work(write=False) as s:
        assert verify_levels(s) == []


def test_tax_inclusive_prices(api: Any, shop: Shop) -> None:
    assert api.put("settings/core", json={"values": {"prices_include_tax": True}}).status_code == 200
    body = {"session_id": shop.session_id,
            "lines": [{"product_id": shop.light_id, "quantity": "3"}],  # 3 × 19.95 incl. 20 %
            "payments": [{"method": "card", "amount": "59.85"}]}
    resp = api.post("pos/sales", json=body)
    assert resp.status_code == 201, resp.json
    sale = resp.json
    line = sale["lines"][0]
    # total 59.85; tax = 59.85 × 20 / 120 = 9.975 → 9.98; net = 49.87
    assert (line["total"], line["tax"], line["net"]) == ("59.85", "9.98", "49.87")
    assert sale["total"] == "59.85" and sale["prices_include_tax"] is True
    text = api.get(f"pos/sales/{sale['id']}/receipt").get_data(as_text=True)
    assert "Tax (included)" in text and "9.98" in text


def test_lookup_by_sku_or_barcode_and_service_lines(api: Any, shop: Shop) -> None:
    assert api.get("pos/lookup?code=HELMET").json["id"] == shop.helmet_id
    assert api.get("pos/lookup?code=0036000291452").json["id"] == shop.helmet_id  # EAN-13 spelling
    assert api.get("pos/lookup?code=nope").status_code == 404
    body = {"session_id": shop.session_id, "lines": [{"code": "TUNE"}, {"code": "LIGHT"}],
            "payments": [{"method": "cash", "amount": "100"}]}
    sale = api.post("pos/sales", json=body).json
    assert sale["total"] == "68.94"   # 45.00 + 19.95 + 3.99 tax
    assert sale["change_due"] == "31.06"


BAD_SALES = [
    ({"session_id": 999999}, 422, "invalid"),
    ({"lines": [{"product_id": 999999}]}, 422, "unknown_product"),
    ({"lines": [{"code": "NO-SUCH-SKU"}]}, 422, "unknown_product"),
    ({"lines": [{"code": "HELMET", "quantity": "-1"}]}, 422, "invalid"),
    ({"lines": [{"code": "HELMET", "quantity": "0"}]}, 422, "invalid"),
    ({"lines": [{"code": "HELMET", "quantity": "1.5"}]}, 422, "invalid"),
    ({"lines": [{"code": "BIKE-1"}]}, 422, "invalid"),                       # serial missing
    ({"lines": [{"code": "BIKE-1", "serial": "NOPE"}]}, 422, "unknown_serial"),
    ({"lines": [{"code": "BIKE-1", "serial": "FAR001"}]}, 409, "serial_not_sellable"),
    ({"lines": [{"code": "HELMET", "serial": "X"}]}, 422, "invalid"),
    ({"lines": [{"code": "BIKE-1", "serial": "WTU123"}, {"code": "BIKE-1", "serial": " wtu123"}]},
     422, "invalid"),
    ({"lines": [{"code": "HELMET", "quantity": "21"}]}, 409, "insufficient_stock"),
    ({"payments": [{"method": "card", "amount": "1000.00"}]}, 422, "payment_short"),
    ({"payments": [{"method": "card", "amount": "1200.00"}]}, 422, "overpaid"),
    ({"payments": [{"method": "cheque", "amount": "1200.00"}]}, 422, "invalid"),
    ({"payments": [{"method": "cash", "amount": "-5"}]}, 422, "invalid"),
    ({"payments": [{"method": "cash", "amount": 1200.001}]}, 422, "invalid"),
    ({"customer_id": 999999}, 422, "invalid"),
    ({"lines": []}, 422, "invalid"),
    ({"lines": [{"code": "HELMET", "unit_price": "abc"}]}, 422, "invalid"),
    # each tender valid, what they add up to beyond what an amount can be
    ({"payments": [{"method": "cash", "amount": "9999999999.99"}] * 3}, 422, "amount_too_large"),
]


def test_bad_sales_are_refused_and_write_nothing(api: Any, shop: Shop, runtime: Any) -> None:
    """One shop for all the cases (an app per case would cost a second each)."""
    before = counts(runtime)
    for change, status, code in BAD_SALES:
        resp = api.post("pos/sales", json=bike_sale(shop, **change))
        assert (resp.status_code, resp.json["error"]["code"]) == (status, code), (change, resp.json)
        assert resp.json["error"]["message"]
        assert counts(runtime) == before, change


def test_a_sale_on_a_closed_session_is_refused(api: Any, shop: Shop, runtime: Any) -> None:
    assert api.post(f"pos/sessions/{shop.session_id}/close",
                    json={"counted_cash": "100.00"}).status_code == 200
    before = counts(runtime)
    resp = api.post("pos/sales", json=bike_sale(shop))
    assert resp.status_code == 409 and resp.json["error"]["code"] == "session_closed"
    assert counts(runtime) == before


def test_a_sold_unit_cannot_be_sold_again(api: Any, shop: Shop) -> None:
    assert api.post("pos/sales", json=bike_sale(shop)).status_code == 201
    again = api.post("pos/sales", json=bike_sale(shop, session_id=shop.session2_id))
    assert again.status_code == 409
    assert again.json["error"]["code"] == "serial_not_sellable"
    assert "sold" in again.json["error"]["message"]


def test_idempotency_key_returns_the_same_sale(api: Any, shop: Shop) -> None:
    headers = {"Idempotency-Key": "till-1-sale-42"}
    first = api.post("pos/sales", json=bike_sale(shop), headers=headers)
    second = api.post("pos/sales", json=bike_sale(shop), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json == second.json
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert api.get("pos/sales").json["total"] == 1
    other = api.post("pos/sales", json=bike_sale(shop, serial="WTU124"), headers=headers)
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_key_reused"


def test_price_override_needs_the_permission_and_is_audited(api: Any, api_as: Any,
                                                            shop: Shop) -> None:
    body = bike_sale(shop)
    body["lines"][0]["unit_price"] = "900.00"
    body["payments"] = [{"method": "card", "amount": "1082.48"}]
    cashier = api_as("cashier")
    refused = cashier.post("pos/sales", json=body)
    assert refused.status_code == 403 and "pos.price.override" in refused.json["error"]["message"]
    manager = api_as("manager")
    ok = manager.post("pos/sales", json=body)
    assert ok.status_code == 201, ok.json
    assert ok.json["lines"][0]["unit_price"] == "900.00"
    assert ok.json["lines"][0]["list_price"] == "1000.00"
    entries = api.get("audit?action=pos.sale.override").json["items"]
    assert any(e["record_id"] == str(ok.json["id"]) for e in entries)


def test_discount_within_the_limit_is_free_over_it_needs_override(api: Any, api_as: Any,
                                                                   shop: Shop) -> None:
    def body(discount: dict) -> dict:
        return {"session_id": shop.session_id,
                "lines": [{"code": "HELMET", **discount}],
                "payments": [{"method": "cash", "amount": "100.00"}]}
    cashier = api_as("cashier")
    ok = cashier.post("pos/sales", json=body({"discount": "4.99"}))   # 9.98 % ≤ 10 %
    assert ok.status_code == 201, ok.json
    assert ok.json["lines"][0]["net"] == "45.00"
    assert cashier.post("pos/sales", json=body({"discount_percent": "15"})).status_code == 403
    manager = api_as("manager")
    big = manager.post("pos/sales", json=body({"discount_percent": "15"}))
    assert big.status_code == 201 and big.json["lines"][0]["discount"] == "7.50"
    assert api.put("settings/pos", json={"values": {"discount_limit_percent": "20"}}).status_code == 200
    assert cashier.post("pos/sales", json=body({"discount_percent": "15"})).status_code == 201
    too_much = manager.post("pos/sales", json=body({"discount": "50.00"}))
    assert too_much.status_code == 422


def test_a_discount_exactly_at_the_limit_is_within_it(api_as: Any, shop: Shop) -> None:
    """10 % off a 19.95 lamp set is 2.00 (1.995 rounded), which is 10.03 % of the price:
    the cashier's 10 % and the 2.00 it comes to are both within a 10 % limit; a cent or
    a hundredth of a percent more is not."""
    def sell(discount: dict) -> Any:
        return cashier.post("pos/sales", json={
            "session_id": shop.session_id, "lines": [{"code": "LIGHT", **discount}],
            "payments": [{"method": "cash", "amount": "30.00"}]})
    cashier = api_as("cashier")
    for at_limit in ({"discount_percent": "10"}, {"discount": "2.00"}):
        ok = sell(at_limit)
        assert ok.status_code == 201, (at_limit, ok.json)
        assert ok.json["lines"][0]["discount"] == "2.00"
    over = sell({"discount_percent": "10.01"})
    assert over.status_code == 403 and "10.01%" in over.json["error"]["message"], over.json
    over = sell({"discount": "2.01"})
    assert over.status_code == 403, over.json
    assert "A discount of 10.0752% is over the limit of 10%" in over.json["error"]["message"]


def test_cashier_sells_but_read_only_cannot(api_as: Any, shop: Shop) -> None:
    assert api_as("read_only").post("pos/sales", json=bike_sale(shop)).status_code == 403
    assert api_as("cashier").post("pos/sales", json=bike_sale(shop)).status_code == 201


def test_find_sales_by_number_customer_serial_barcode(api: Any, shop: Shop) -> None:
    sale = api.post("pos/sales", json=bike_sale(shop)).json
    other = api.post("pos/sales", json={"session_id": shop.session_id, "lines": [{"code": "LIGHT"}],
                                        "payments": [{"method": "cash", "amount": "30"}]}).json
    def ids(query: str) -> list[int]:
        resp = api.get("pos/sales?" + query)
        assert resp.status_code == 200, resp.json
        return [s["id"] for s in resp.json["items"]]
    assert ids(f"number={sale['number'].lower()}") == [sale["id"]]
    assert ids(f"customer_id={shop.customer_id}") == [sale["id"]]
    assert ids("serial=wtu 123") == [sale["id"]]
    assert ids("barcode=036000291452") == [sale["id"]]
    assert ids("barcode=LIGHT") == [other["id"]]
    assert ids("") == [other["id"], sale["id"]]
    assert api.get("pos/sales/999999").status_code == 404


def test_receipt_text_html_and_print_without_printer(api: Any, shop: Shop) -> None:
    sale = api.post("pos/sales", json=bike_sale(shop)).json
    text = api.get(f"pos/sales/{sale['id']}/receipt")
    assert text.mimetype == "text/plain"
    body = text.get_data(as_text=True)
    for expected in (sale["number"], "Serial: WTU123", "1190.73", "Change", "9.27", "Ada Rider"):
        assert expected in body
    html = api.get(f"pos/sales/{sale['id']}/receipt?format=html")
    assert html.mimetype == "text/html" and "WTU123" in html.get_data(as_text=True)
    printed = api.post(f"pos/sales/{sale['id']}/print")
    assert printed.status_code == 409
    assert printed.json["error"]["code"] == "no_printer"
    assert "printer" in printed.json["error"]["message"]


def test_rates_and_quantities_print_as_plain_numbers(api: Any, shop: Shop) -> None:
    """Receipts and messages say 10 % and 8.25 %, 10 sold — never 1E+1."""
    kit = api.post("products", json={"sku": "KIT", "name": "Repair kit", "price": "29.00",
                                     "tax_rate": "10"}).json
    api.post("stock/moves", json={"product_id": kit["id"], "to_location_id": shop.location_id,
                                  "quantity": 5, "reason": "opening stock"})
    sale = api.post("pos/sales", json={
        "session_id": shop.session_id,
        "lines": [{"code": "KIT"}, {"code": "HELMET", "quantity": "10"}],
        "payments": [{"method": "card", "amount": "573.04"}]})
    assert sale.status_code == 201, sale.json        # 29.00 + 2.90 tax + 499.90 + 41.24 tax
    text = api.get(f"pos/sales/{sale.json['id']}/receipt").get_data(as_text=True)
    assert "Tax 10%: 2.90" in text and "Tax 8.25%: 41.24" in text, text
    assert "E+" not in text
    helmets = sale.json["lines"][1]
    body = {"lines": [{"line_id": helmets["id"], "quantity": "10"}], "reason": "recall",
            "refund_method": "card"}
    assert api.post(f"pos/sales/{sale.json['id']}/returns", json=body).status_code == 201
    again = api.post(f"pos/sales/{sale.json['id']}/returns", json=body)
    assert again.status_code == 409
    assert "(10 sold, 10 returned)" in again.json["error"]["message"], again.json


def test_print_queues_a_job_with_a_printer_and_a_cash_sale_kicks_the_drawer(
        api: Any, shop: Shop, runtime: Any) -> None:
    printer = api.post("devices/printers", json={"name": "Front", "uri": "dummy:"})
    assert printer.status_code == 201, printer.json
    from core.models import OutboxJob  # noqa: F401 - only to make sure jobs exist
    from plugins.devices.models import PrintJob
    with runtime.unit_of_work() as s:
        from plugins.pos.models import Register
        s.get(Register, shop.register_id).printer_id = printer.json["id"]
    sale = api.post("pos/sales", json=bike_sale(shop)).json
    with runtime.unit_of_work(write=False) as s:
        jobs = s.scalars(select(PrintJob).order_by(PrintJob.id)).all()
        assert len(jobs) == 1
        assert jobs[0].document["open_drawer"] is True
        assert jobs[0].document["barcode"] == sale["number"]
    reprint = api.post(f"pos/sales/{sale['id']}/print")
    assert reprint.status_code == 202 and reprint.json["job_id"]


def test_schema_matches_the_models(runtime: Any) -> None:
    from core.migrate import schema_diff
    assert schema_diff(runtime) == []


def test_a_sale_with_nothing_to_pay_needs_no_tender(api: Any, shop: Shop, runtime: Any) -> None:
    # a free tune-up (price overridden to zero): nothing to pay, no payment rows
    body = {"session_id": shop.session_id,
            "lines": [{"code": "TUNE", "unit_price": "0.00"}], "payments": []}
    resp = api.post("pos/sales", json=body)
    assert resp.status_code == 201, resp.json
    sale = resp.json
    assert (sale["total"], sale["paid"], sale["change_due"], sale["payments"]) == \
        ("0.00", "0.00", "0.00", [])
    assert api.get(f"pos/sales/{sale['id']}").json["payments"] == []
