"""The hooks repairs calls and answers, proved with a throwaway plugin standing in for
pos (``ring_up`` → ``sale_completed``), warranty (``resolve_coverage``), devices
(``print_document``) and notifications/purchasing (the domain hooks)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core import Coverage, Manifest, SaleInfo, SaleLineInfo, hookimpl
from tests.conftest import ApiClient
from tests.plugins.repairs.conftest import Desk


class FakeShop:
    """pos + warranty + devices + notifications, as far as repairs can tell."""
    manifest = Manifest(name="fakeshop", version="0", title="Fake shop")

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.covered: dict[int, str] = {}
        self.sales = 0
        self.ring_up_error: str | None = None

    @hookimpl
    def resolve_coverage(self, session: Any, item_id: int, on: Any) -> Any:
        self.calls.append(("resolve_coverage", {"item_id": item_id, "on": on}))
        if item_id in self.covered:
            return Coverage(item_id=item_id, covered=True, coverage=self.covered[item_id],
                            plan="Maker 1 year")
        return None

    @hookimpl
    def ring_up(self, session: Any, actor: Any, pos_session_id: int, customer_id: Any,
                lines: Any, payments: Any, ticket_id: Any, note: str) -> Any:
        from core.runtime import current
        self.calls.append(("ring_up", {"lines": list(lines), "payments": list(payments),
                                       "ticket_id": ticket_id, "pos_session_id": pos_session_id}))
        if self.ring_up_error:
            from core import Conflict
            raise Conflict("The shift is closed.", code=self.ring_up_error)
        self.sales += 1
        total = sum((ln.unit_price * ln.quantity for ln in lines if not ln.covered), Decimal("0"))
        sale = SaleInfo(id=1000 + self.sales, number=f"S-{self.sales:06d}", kind="sale", at=None,
                        customer_id=customer_id, location_id=None, ticket_id=ticket_id,
                        lines=tuple(SaleLineInfo(line_id=i, description=ln.description,
                                                 quantity=ln.quantity, unit_price=ln.unit_price,
                                                 discount=Decimal("0"), tax=Decimal("0"),
                                                 total=ln.unit_price * ln.quantity, kind=ln.kind)
                                    for i, ln in enumerate(lines)),
                        subtotal=total, tax=Decimal("0"), total=total, paid=total,
                        payments=tuple(payments))
        # what pos does: consume the reservations its lines name, then tell everyone
        from core import consume_reservation
        for ln in lines:
            if ln.reservation_id:
                consume_reservation(session, actor, ln.reservation_id, reason="sold at till")
        current().hook.sale_completed(session=session, sale=sale, actor=actor)
        return sale

    @hookimpl
    def print_document(self, session: Any, document: Any, printer_id: Any, actor: Any) -> Any:
        self.calls.append(("print_document", {"document": document}))
        return 77

    @hookimpl
    def ticket_created(self, session: Any, ticket: Any, actor: Any) -> None:
        self.calls.append(("ticket_created", {"number": ticket.number, "url": ticket.status_url}))

    @hookimpl
    def ticket_status_changed(self, session: Any, ticket: Any, old: str, new: str, actor: Any) -> None:
        self.calls.append(("ticket_status_changed", {"old": old, "new": new}))

    @hookimpl
    def estimate_requested(self, session: Any, ticket: Any, amount: Any, actor: Any) -> None:
        self.calls.append(("estimate_requested", {"amount": amount}))

    @hookimpl
    def ticket_ready(self, session: Any, ticket: Any, actor: Any) -> None:
        self.calls.append(("ticket_ready", {"number": ticket.number}))

    @hookimpl
    def parts_short(self, session: Any, ticket_id: int, product_id: int, quantity: Any,
                    actor: Any) -> None:
        self.calls.append(("parts_short", {"ticket_id": ticket_id, "product_id": product_id,
                                           "quantity": quantity}))

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


@pytest.fixture
def shop(app: Any, app_factory: Any, make_user: Any) -> tuple[FakeShop, Desk]:
    fake = FakeShop()
    hooked = app_factory(plugins=(fake,))
    token = make_user("admin")[1]
    return fake, Desk(ApiClient(hooked.test_client(), token))


def test_domain_hooks_are_called_in_order(shop: Any) -> None:
    fake, desk = shop
    t = desk.intake()
    assert fake.calls[-1] == ("ticket_created", {"number": t["number"], "url": t["status_url"]})
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json={"amount": "12.00"}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/approval", json={"approved": True, "via": "phone"}))
    desk.move(t["id"], "ready")
    names = [n for n in fake.names() if n != "resolve_coverage"]
    assert names == ["ticket_created", "ticket_status_changed", "ticket_status_changed",
                     "estimate_requested", "ticket_status_changed", "ticket_status_changed",
                     "ticket_ready"]
    changes = [c for n, c in fake.calls if n == "ticket_status_changed"]
    assert changes[-1] == {"old": "in_repair", "new": "ready"}


def test_a_refusing_hook_aborts_the_whole_intake(shop: Any) -> None:
    """Hooks run inside the unit of work: pos refusing the deposit (a closed shift)
    leaves no ticket, no unit and no audit entry behind."""
    fake, desk = shop
    fake.ring_up_error = "shift_closed"
    c = desk.customer()
    laptop = desk.laptop()
    r = desk.api.post("repairs/tickets", json={
        "customer_id": c["id"], "problem": "x", "product_id": laptop["id"], "serial": "NEW-1",
        "deposit": {"amount": "10.00", "pos_session_id": 5}})
    assert r.status_code == 409 and r.json["error"]["code"] == "shift_closed"
    assert desk.ok(desk.api.get("repairs/tickets"))["total"] == 0
    assert desk.ok(desk.api.get("items?serial=NEW-1"))["total"] == 0


def test_deposit_goes_through_the_till(shop: Any) -> None:
    fake, desk = shop
    t = desk.intake(deposit={"amount": "25.00", "method": "card", "pos_session_id": 3})
    ring = [c for n, c in fake.calls if n == "ring_up"][0]
    assert ring["pos_session_id"] == 3 and ring["ticket_id"] == t["id"]
    assert [(ln.kind, ln.unit_price) for ln in ring["lines"]] == [("deposit", Decimal("25.00"))]
    assert ring["payments"] == [("card", Decimal("25.00"))]
    assert t["deposit"] == "25.00" and t["deposit_reference"] == "S-000001"
    assert desk.ticket(t["id"])["status"] == "received"   # a deposit sale does not collect


def test_warranty_prices_covered_work_at_zero_and_pickup_rings_up(shop: Any) -> None:
    fake, desk = shop
    c = desk.customer()
    laptop = desk.laptop()
    loc = desk.location()
    part = desk.product(name="Fan", kind="part", price="35.00")
    desk.stock_in(part["id"], loc["id"], 3)
    # the unit exists before intake so the fake warranty can cover it
    item = desk.ok(desk.api.post("items", json={"product_id": laptop["id"], "serial": "W-1",
                                                "status": "customer_owned", "owner_id": c["id"]}), 201)
    fake.covered[item["id"]] = "parts"
    t = desk.intake(c["id"], item_description=None, item_id=item["id"],
                    deposit={"amount": "10.00", "method": "cash"})
    assert t["units"][0]["coverage"] == "parts"
    desk.move(t["id"], "diagnosing")
    p = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": part["id"]}), 201)
    lab = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                                json={"minutes": 60, "description": "Swap fan"}), 201)
    assert (p["amount"], p["list_amount"], p["covered"]) == ("0.00", "35.00", True)
    assert (lab["amount"], lab["covered"]) == ("60.00", False)
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"pos_session_id": 9, "payments": [{"method": "card", "amount": "50.00"}]}), 201)
    ring = [c for n, c in fake.calls if n == "ring_up"][-1]
    kinds = [(ln.kind, ln.unit_price, ln.covered) for ln in ring["lines"]]
    # a covered line carries its list price; the till prices it at zero (core.ChargeLine)
    assert kinds == [("part", Decimal("35.00"), True), ("labor", Decimal("60.00"), False),
                     ("deposit", Decimal("-10.00"), False)]
    assert ring["lines"][0].reservation_id == p["reservation_id"]
    assert pk["sale_number"] == "S-000001" and pk["ticket_status"] == "collected"
    assert (pk["total"], pk["deposit_applied"]) == ("60.00", "10.00")
    level = desk.level(part["id"], loc["id"])
    assert (level["on_hand"], level["reserved"]) == (2, 0)   # consumed once, by the till


def test_resolve_ticket_charges_answers_the_till(shop: Any) -> None:
    fake, desk = shop
    from core.runtime import current
    t = desk.intake(deposit={"amount": "5.00"})
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 30, "description": "Clean"}), 201)
    rt = current()
    with rt.unit_of_work() as s:
        assert rt.hook.resolve_ticket_charges(session=s, ticket_id=t["id"]) is None  # not ready
    desk.move(t["id"], "ready")
    with rt.unit_of_work() as s:
        charges = rt.hook.resolve_ticket_charges(session=s, ticket_id=t["id"])
        assert charges.number == t["number"] and charges.deposit == Decimal("5.00")
        assert [(ln.kind, ln.unit_price) for ln in charges.lines] == [("labor", Decimal("30.00"))]
        assert rt.hook.resolve_ticket_charges(session=s, ticket_id=99999) is None


def test_short_parts_call_parts_short(shop: Any) -> None:
    fake, desk = shop
    part = desk.product(name="Rare chip", kind="part", price="5.00")
    desk.location()
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    p = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts",
                              json={"product_id": part["id"], "quantity": 3}), 201)
    assert p["status"] == "to_order"
    assert ("parts_short", {"ticket_id": t["id"], "product_id": part["id"],
                            "quantity": Decimal("3")}) in fake.calls


def test_print_goes_to_print_document(shop: Any) -> None:
    fake, desk = shop
    t = desk.intake()
    r = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/print", json={}), 202)
    assert r == {"job_id": 77, "printed": True}
    doc = [c for n, c in fake.calls if n == "print_document"][0]["document"]
    assert doc.qr.endswith(t["status_url"]) and doc.barcode == t["number"]
