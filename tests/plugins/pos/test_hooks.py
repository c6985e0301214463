"""pos meets other plugins only through hooks: a throwaway plugin stands in for
warranty (offers, receipt sections, close sections) and repairs (ticket charges,
ringing up a deposit), and records what ``sale_completed`` told it."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core import (ChargeLine, Invalid, Manifest, Offer, ReceiptSection, TicketCharges, hookimpl)

from tests.plugins.pos.conftest import Shop, bike_sale


class Neighbour:
    manifest = Manifest(name="neighbour", version="1", title="Warranty and repairs stand-in")

    def __init__(self) -> None:
        self.completed: list[Any] = []
        self.returned: list[Any] = []

    @hookimpl
    def sale_line_offers(self, product_id: int, serial: str | None) -> list[Offer]:
        if serial is None and product_id != 1:
            return []
        return [Offer(kind="warranty_plan", ref=7, title="3-year cover", price=Decimal("99.00"))]

    @hookimpl
    def sale_completed(self, session: Any, sale: Any, actor: Any) -> None:
        if any("explode" in ln.description for ln in sale.lines):
            raise Invalid("neighbour refuses")
        self.completed.append(sale)

    @hookimpl
    def sale_returned(self, sale: Any, original_sale_id: int) -> None:
        self.returned.append((sale, original_sale_id))

    @hookimpl
    def receipt_sections(self, sale: Any) -> list[ReceiptSection]:
        plans = [ln for ln in sale.lines if ln.warranty_plan_id]
        return [ReceiptSection("Warranty", (f"Covered until 2029-01-01 ({len(plans)} line(s))",))]

    @hookimpl
    def close_report_sections(self, shift_id: int) -> list[ReceiptSection]:
        return [ReceiptSection("Activations", (f"session {shift_id}: 1 plan",))]

    @hookimpl
    def resolve_ticket_charges(self, ticket_id: int) -> TicketCharges | None:
        if ticket_id != 55:
            return None
        return TicketCharges(ticket_id=55, number="T-000055", customer_id=None, lines=(
            ChargeLine("Brake pads", Decimal("2"), Decimal("12.50"), Decimal("8.25"), kind="part"),
            ChargeLine("Labour", Decimal("1.5"), Decimal("40.00"), kind="labor"),
            ChargeLine("Covered hub", Decimal("1"), Decimal("80.00"), kind="part", covered=True),
        ), deposit=Decimal("20.00"))


NEIGHBOUR = Neighbour()


@pytest.fixture
def app(app_factory: Any) -> Any:
    NEIGHBOUR.completed.clear()
    NEIGHBOUR.returned.clear()
    return app_factory(plugins=(NEIGHBOUR,))


def test_offers_and_taking_one(api: Any, shop: Shop) -> None:
    offers = api.get(f"pos/offers?product_id={shop.bike_id}&serial=WTU123").json
    assert offers == [{"kind": "warranty_plan", "ref": 7, "title": "3-year cover", "price": "99.00",
                       "description": ""}]
    body = bike_sale(shop)
    body["lines"][0]["warranty_plan_id"] = 7
    body["payments"][0]["amount"] = "1107.17"   # + 99.00 + 8.17 tax
    sale = api.post("pos/sales", json=body)
    assert sale.status_code == 201, sale.json
    lines = sale.json["lines"]
    assert lines[0]["warranty_plan_id"] == 7
    assert lines[1]["kind"] == "warranty" and lines[1]["total"] == "107.17"
    info = NEIGHBOUR.completed[-1]
    assert info.number == sale.json["number"] and info.lines[0].warranty_plan_id == 7
    assert info.lines[0].serial == "WTU123" and info.customer_id == shop.customer_id
    text = api.get(f"pos/sales/{sale.json['id']}/receipt").get_data(as_text=True)
    assert "Warranty" in text and "Covered until 2029-01-01 (2 line(s))" in text
    body["lines"][0]["warranty_plan_id"] = 8
    refused = api.post("pos/sales", json=bike_sale(shop, serial="WTU124", lines=[
        {"product_id": shop.bike_id, "serial": "WTU124", "warranty_plan_id": 8}]))
    assert refused.status_code == 422


def test_a_failing_sale_completed_rolls_the_sale_back(api: Any, shop: Shop, runtime: Any) -> None:
    from tests.plugins.pos.test_sales import counts
    with runtime.unit_of_work() as s:
        from core.records.catalog import Product
        s.get(Product, shop.light_id).name = "explode lamp"
    before = counts(runtime)
    resp = api.post("pos/sales", json={"session_id": shop.session_id, "lines": [{"code": "LIGHT"}],
                                       "payments": [{"method": "card", "amount": "23.94"}]})
    assert resp.status_code == 422
    assert counts(runtime) == before


def test_ticket_pickup_charges_less_the_deposit(api: Any, shop: Shop) -> None:
    resp = api.post("pos/sales", json={"session_id": shop.session_id, "ticket_id": 55,
                                       "payments": [{"method": "card", "amount": "67.06"}]})
    assert resp.status_code == 201, resp.json
    sale = resp.json
    kinds = [(ln["kind"], ln["total"]) for ln in sale["lines"]]
    # pads 25.00 + 2.06 tax; labour 1.5 × 40 = 60.00; covered hub 0.00; deposit −20.00
    assert kinds == [("part", "27.06"), ("labor", "60.00"), ("part", "0.00"), ("deposit", "-20.00")]
    assert sale["total"] == "67.06" and sale["ticket_id"] == 55
    assert NEIGHBOUR.completed[-1].ticket_id == 55
    hub = sale["lines"][2]
    assert hub["covered"] is True and hub["list_price"] == "80.00"
    assert api.post("pos/sales", json={"session_id": shop.session_id, "ticket_id": 56,
                                       "payments": []}).status_code == 422


def test_ring_up_a_deposit_from_another_plugin(runtime: Any, shop: Shop, uow: Any) -> None:
    with uow() as (s, admin):
        info = runtime.hook.ring_up(
            session=s, actor=admin, pos_session_id=shop.session_id, customer_id=shop.customer_id,
            lines=[ChargeLine("Deposit on T-000055", Decimal("1"), Decimal("20.00"), kind="deposit")],
            payments=[("cash", Decimal("20.00"))], ticket_id=55, note="deposit")
        assert info.kind == "sale" and info.total == Decimal("20.00") and info.ticket_id == 55
        assert info.number.startswith("S-")
    with uow() as (s, admin):
        with pytest.raises(Invalid):
            runtime.hook.ring_up(session=s, actor=admin, pos_session_id=shop.session_id,
                                 customer_id=None, lines=[ChargeLine("x", Decimal(1), Decimal(5))],
                                 payments=[("cash", Decimal("1.00"))], ticket_id=None, note="")


def test_close_report_sections_and_sale_returned(api: Any, shop: Shop) -> None:
    sale = api.post("pos/sales", json=bike_sale(shop)).json
    api.post(f"pos/sales/{sale['id']}/returns", json={
        "lines": [{"line_id": sale["lines"][1]["id"]}], "reason": "x", "refund_method": "card"})
    ret, original = NEIGHBOUR.returned[-1]
    assert original == sale["id"] and ret.kind == "return" and ret.lines[0].quantity < 0
    report = api.post(f"pos/sessions/{shop.session_id}/close", json={"counted_cash": "0"}).json
    assert report["sections"] == [{"title": "Activations",
                                   "lines": [f"session {shop.session_id}: 1 plan"]}]
