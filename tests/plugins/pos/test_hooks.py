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
        return TICKETS.get(ticket_id)


TICKETS = {
    # pads 27.06 + labour 60.00 + a covered hub, less a 20.00 deposit: 67.06 to pay
    55: TicketCharges(ticket_id=55, number="T-000055", customer_id=None, lines=(
        ChargeLine("Brake pads", Decimal("2"), Decimal("12.50"), Decimal("8.25"), kind="part"),
        ChargeLine("Labour", Decimal("1.5"), Decimal("40.00"), kind="labor"),
        ChargeLine("Covered hub", Decimal("1"), Decimal("80.00"), kind="part", covered=True),
    ), deposit=Decimal("20.00")),
    # a 33.00 hinge against a 100.00 deposit: the shop owes the customer 67.00
    57: TicketCharges(ticket_id=57, number="T-000057", customer_id=None, lines=(
        ChargeLine("Hinge", Decimal("1"), Decimal("30.00"), Decimal("10"), kind="part"),
    ), deposit=Decimal("100.00")),
    # a 50.00 wheel less a 30.00 goodwill credit and a 10.00 deposit: 10.00 to pay
    58: TicketCharges(ticket_id=58, number="T-000058", customer_id=None, lines=(
        ChargeLine("Wheel", Decimal("1"), Decimal("50.00"), kind="part"),
        ChargeLine("Goodwill credit", Decimal("1"), Decimal("-30.00"), kind="labor"),
    ), deposit=Decimal("10.00")),
}


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


def test_a_sale_that_owes_the_customer_pays_out_in_cash_only(api: Any, shop: Shop) -> None:
    """A deposit larger than the work: the till pays the difference back in cash, and
    no more — a card payment on such a sale would turn into cash back."""
    card = api.post("pos/sales", json={"session_id": shop.session_id, "ticket_id": 57,
                                       "payments": [{"method": "card", "amount": "10.00"}]})
    assert card.status_code == 422 and card.json["error"]["code"] == "overpaid", card.json
    assert "67.00" in card.json["error"]["message"]
    sale = api.post("pos/sales", json={"session_id": shop.session_id, "ticket_id": 57,
                                       "payments": []})
    assert sale.status_code == 201, sale.json
    assert (sale.json["total"], sale.json["paid"], sale.json["change_due"]) == \
        ("-67.00", "0.00", "67.00")
    report = api.get(f"pos/sessions/{shop.session_id}/report").json
    # 100.00 float, 67.00 paid out, nothing else
    assert (report["cash"]["change_given"], report["cash"]["expected"]) == ("67.00", "33.00")
    tenders = {t["method"]: t["amount"] for t in report["tenders"]}
    assert (tenders["cash"], tenders["card"], report["net_total"]) == ("-67.00", "0.00", "-67.00")


def test_a_return_refunds_what_was_paid_for_it_deposit_included(api: Any, shop: Shop) -> None:
    """Money paid earlier as a deposit and applied on the sale paid for its goods too:
    returning them refunds it. The deposit line itself is not goods to return."""
    sale = api.post("pos/sales", json={"session_id": shop.session_id, "ticket_id": 55,
                                       "payments": [{"method": "card", "amount": "67.06"}]}).json
    pads, labour, _hub, deposit = sale["lines"]

    def give_back(s: dict, line: dict) -> Any:
        return api.post(f"pos/sales/{s['id']}/returns", json={
            "lines": [{"line_id": line["id"], "quantity": line["quantity"]}],
            "reason": "work undone", "refund_method": "card"})
    assert give_back(sale, deposit).status_code == 422
    first = give_back(sale, pads)
    assert first.status_code == 201 and first.json["total"] == "-27.06", first.json
    second = give_back(sale, labour)
    assert second.status_code == 201 and second.json["total"] == "-60.00", second.json
    # 67.06 paid at pickup + the 20.00 deposit paid before = 87.06 refunded in all
    assert -Decimal(first.json["total"]) - Decimal(second.json["total"]) == Decimal("87.06")

    # a 100.00 deposit for 33.00 of work: 67.00 paid back at pickup, the hinge's 33.00 now
    owed = api.post("pos/sales", json={"session_id": shop.session_id, "ticket_id": 57,
                                       "payments": []}).json
    hinge = give_back(owed, owed["lines"][0])
    assert hinge.status_code == 201 and hinge.json["total"] == "-33.00", hinge.json

    # still never more than was paid: 10.00 at pickup + 10.00 deposit for a 50.00 wheel
    credited = api.post("pos/sales", json={
        "session_id": shop.session_id, "ticket_id": 58,
        "payments": [{"method": "cash", "amount": "10.00"}]}).json
    wheel = give_back(credited, credited["lines"][0])
    assert wheel.status_code == 409 and wheel.json["error"]["code"] == "refund_exceeds_payment"
    assert "20.00" in wheel.json["error"]["message"], wheel.json
