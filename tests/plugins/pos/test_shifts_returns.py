"""Registers, till sessions and the close (Z) report; returns and refunds."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from tests.plugins.pos.conftest import Shop, bike_sale


def test_registers_and_one_open_session_per_register(api: Any, api_as: Any, shop: Shop) -> None:
    regs = api.get("pos/registers").json
    assert [r["name"] for r in regs] == ["Till 1", "Till 2"]
    assert regs[0]["open_session_id"] == shop.session_id
    again = api.post(f"pos/registers/{shop.register_id}/sessions", json={"opening_cash": "10.00"})
    assert again.status_code == 409 and again.json["error"]["code"] == "session_open"
    assert api.post("pos/registers", json={"name": "Till 1", "location_id": shop.location_id}
                    ).status_code == 409
    assert api.post("pos/registers", json={"name": "Till 3", "location_id": 99999}).status_code == 422
    assert api_as("cashier").post("pos/registers", json={"name": "Till 9",
                                                         "location_id": shop.location_id}
                                  ).status_code == 403
    assert api.post("pos/registers/99999/sessions", json={"opening_cash": "1.00"}).status_code == 404


def test_close_report_counts_sales_refunds_tenders_and_cash(api: Any, shop: Shop) -> None:
    sale = api.post("pos/sales", json=bike_sale(shop)).json          # card 1000 + cash 200, change 9.27
    cash_only = api.post("pos/sales", json={
        "session_id": shop.session_id, "lines": [{"code": "LIGHT"}],
        "payments": [{"method": "cash", "amount": "30.00"}]}).json    # 23.94, change 6.06
    helmet_line = sale["lines"][1]
    ret = api.post(f"pos/sales/{sale['id']}/returns", json={
        "lines": [{"line_id": helmet_line["id"], "quantity": "1"}], "reason": "wrong size",
        "refund_method": "cash"}).json                                 # half of 108.23 → 54.12
    assert ret["total"] == "-54.12"
    interim = api.get(f"pos/sessions/{shop.session_id}/report").json
    assert interim["cash"]["counted"] is None
    # expected cash: 100 float + 200 + 30 − 9.27 − 6.06 change − 54.12 refund = 260.55
    report = api.post(f"pos/sessions/{shop.session_id}/close", json={"counted_cash": "260.00"}).json
    assert report["sales"] == {"count": 2, "total": "1214.67", "tax": "94.74"}
    assert report["refunds"]["count"] == 1 and report["refunds"]["total"] == "54.12"
    tenders = {t["method"]: t["amount"] for t in report["tenders"]}
    # cash net of the change and the refund: 230.00 − 15.33 − 54.12
    assert tenders == {"cash": "160.55", "card": "1000.00", "other": "0.00", "store_credit": "0.00"}
    assert report["cash"]["expected"] == "260.55"
    assert report["cash"]["counted"] == "260.00"
    assert report["cash"]["difference"] == "-0.55"
    assert report["net_total"] == "1160.55"
    audit = api.get("audit?action=pos.cash.difference").json["items"]
    assert len(audit) == 1 and audit[0]["record_id"] == str(shop.session_id)
    again = api.post(f"pos/sessions/{shop.session_id}/close", json={"counted_cash": "260.00"})
    assert again.status_code == 409
    assert api.get(f"pos/sessions/{shop.session_id}/report").json == report
    assert cash_only["change_due"] == "6.06"


def test_the_tenders_add_up_to_the_net_total_and_the_drawer_adds_up(api: Any, shop: Shop) -> None:
    """Per tender, what the till kept (received less change, less refunds), so the
    tenders add up to the net total; the cash section shows how the drawer got there."""
    sale = api.post("pos/sales", json=bike_sale(shop)).json          # 1190.73: card 1000 + cash 200
    lamp = api.post("pos/sales", json={
        "session_id": shop.session_id, "lines": [{"code": "LIGHT"}],
        "payments": [{"method": "cash", "amount": "30.00"}]}).json    # 23.94
    assert (sale["change_due"], lamp["change_due"]) == ("9.27", "6.06")
    for s, line, method in ((sale, sale["lines"][1], "card"), (lamp, lamp["lines"][0], "cash")):
        assert api.post(f"pos/sales/{s['id']}/returns", json={
            "lines": [{"line_id": line["id"], "quantity": "1"}], "reason": "x",
            "refund_method": method}).status_code == 201          # card −54.12, cash −23.94
    report = api.post(f"pos/sessions/{shop.session_id}/close", json={"counted_cash": "290.73"}).json
    tenders = {t["method"]: Decimal(t["amount"]) for t in report["tenders"]}
    assert tenders["cash"] == Decimal("190.73")       # 230.00 − 15.33 change − 23.94 refund
    assert tenders["card"] == Decimal("945.88")       # 1000.00 − 54.12 refund
    assert sum(tenders.values()) == Decimal(report["net_total"]) == Decimal("1136.61")
    cash = {k: Decimal(v) for k, v in report["cash"].items()}
    assert (cash["opening"], cash["taken"], cash["change_given"], cash["refunded"]) == \
        (Decimal("100.00"), Decimal("230.00"), Decimal("15.33"), Decimal("23.94"))
    assert cash["opening"] + cash["taken"] - cash["change_given"] - cash["refunded"] == \
        cash["expected"] == cash["opening"] + tenders["cash"] == Decimal("290.73")
    assert cash["difference"] == 0


def test_an_exact_count_records_no_difference(api: Any, shop: Shop) -> None:
    report = api.post(f"pos/sessions/{shop.session2_id}/close", json={"counted_cash": "50.00"}).json
    assert report["cash"]["difference"] == "0.00"
    assert api.get("audit?action=pos.cash.difference").json["items"] == []
    reopened = api.post(f"pos/registers/{shop.register2_id}/sessions", json={"opening_cash": "0"})
    assert reopened.status_code == 201


def test_return_some_then_the_rest_never_more(api: Any, api_as: Any, shop: Shop) -> None:
    sale = api.post("pos/sales", json=bike_sale(shop)).json
    bike, helmets = sale["lines"]
    cashier = api_as("cashier")
    body = {"lines": [{"line_id": helmets["id"], "quantity": "1"}], "reason": "too small",
            "refund_method": "card"}
    assert cashier.post(f"pos/sales/{sale['id']}/returns", json=body).status_code == 403
    first = api.post(f"pos/sales/{sale['id']}/returns", json=body)
    assert first.status_code == 201, first.json
    assert first.json["number"].startswith("R-") and first.json["original_sale_id"] == sale["id"]
    assert first.json["payments"] == [{"method": "card", "amount": "-54.12"}]
    second = api.post(f"pos/sales/{sale['id']}/returns", json=body).json
    assert second["total"] == "-54.11"            # the last unit takes what is left: 108.23 in all
    too_many = api.post(f"pos/sales/{sale['id']}/returns", json=body)
    assert too_many.status_code == 409 and too_many.json["error"]["code"] == "return_exceeds_sale"
    unit = api.post(f"pos/sales/{sale['id']}/returns", json={
        "lines": [{"line_id": bike["id"], "quantity": "1"}], "reason": "changed mind",
        "refund_method": "card"})
    assert unit.status_code == 201
    item = api.get(f"items/{bike['item_id']}").json
    assert (item["status"], item["owner_id"], item["location_id"]) == ("returned", None,
                                                                       shop.location_id)
    assert api.get(f"pos/sales/{sale['id']}").json["status"] == "returned"
    stock = {r["product_id"]: r["on_hand"]
             for r in api.get(f"stock?location_id={shop.location_id}").json["items"]}
    assert stock[shop.helmet_id] == 20 and stock[shop.bike_id] == 2   # returned ≠ in stock
    refunds = api.get("pos/sales?kind=return").json["items"]
    assert sum(-Decimal(r["total"]) for r in refunds) == Decimal(sale["total"])
    audits = api.get("audit?action=pos.sale.refunded").json["items"]
    assert len(audits) == 3 and audits[0]["reason"]


def test_bad_returns(api: Any, shop: Shop) -> None:
    sale = api.post("pos/sales", json=bike_sale(shop)).json
    other = api.post("pos/sales", json={"session_id": shop.session_id, "lines": [{"code": "LIGHT"}],
                                        "payments": [{"method": "card", "amount": "23.94"}]}).json
    line = sale["lines"][1]["id"]
    cases = [
        ({"lines": [{"line_id": other["lines"][0]["id"]}], "reason": "x", "refund_method": "cash"}, 422),
        ({"lines": [{"line_id": line, "quantity": "3"}], "reason": "x", "refund_method": "cash"}, 409),
        ({"lines": [{"line_id": line, "quantity": "-1"}], "reason": "x", "refund_method": "cash"}, 422),
        ({"lines": [{"line_id": line}], "reason": "  ", "refund_method": "cash"}, 422),
        ({"lines": [{"line_id": line}], "reason": "x", "refund_method": "iou"}, 422),
        ({"lines": [], "reason": "x", "refund_method": "cash"}, 422),
    ]
    for body, status in cases:
        resp = api.post(f"pos/sales/{sale['id']}/returns", json=body)
        assert resp.status_code == status, (body, resp.json)
    assert api.post("pos/sales/99999/returns", json=cases[0][0]).status_code == 404
    ret = api.post(f"pos/sales/{sale['id']}/returns", json={
        "lines": [{"line_id": line}], "reason": "x", "refund_method": "cash"}).json
    assert api.post(f"pos/sales/{ret['id']}/returns", json={
        "lines": [{"line_id": ret["lines"][0]["id"]}], "reason": "x",
        "refund_method": "cash"}).status_code == 409
    assert api.get(f"pos/sales?number={ret['number']}").json["items"][0]["kind"] == "return"
    api.post(f"pos/sessions/{shop.session_id}/close", json={"counted_cash": "0"})
    closed = api.post(f"pos/sales/{sale['id']}/returns", json={
        "lines": [{"line_id": line}], "reason": "x", "refund_method": "cash"})
    assert closed.status_code == 409 and closed.json["error"]["code"] == "session_closed"
    elsewhere = api.post(f"pos/sales/{sale['id']}/returns", json={
        "lines": [{"line_id": line}], "reason": "x", "refund_method": "cash",
        "session_id": shop.session2_id})
    assert elsewhere.status_code == 201


def test_the_sold_unit_shows_in_its_history_and_the_customer_timeline(api: Any, shop: Shop) -> None:
    sale = api.post("pos/sales", json=bike_sale(shop)).json
    history = api.get(f"items/{sale['lines'][0]['item_id']}/history").json["items"]
    assert any(e["title"] == f"Sold on {sale['number']}" for e in history)
    timeline = api.get(f"customers/{shop.customer_id}/timeline").json["items"]
    assert any(sale["number"] in e["title"] for e in timeline)
    found = api.get(f"search?q={sale['number']}").json["results"]
    assert found[0]["type"] == "sale" and found[0]["id"] == sale["id"]
