"""Repairs and the real pos plugin together: a deposit taken through the till at
intake, a part reserved from stock, covered labour, and pickup rung up on the till
(from the repair desk's checkout, and from the till's own sale with ``ticket_id``).
Only coverage comes from a throwaway plugin standing in for warranty."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core import Coverage, Manifest, hookimpl
from tests.conftest import ApiClient
from tests.plugins.repairs.conftest import Desk


class LabourCover:
    """Warranty, as far as repairs can tell: every unit is covered for labour."""
    manifest = Manifest(name="labour_cover", version="0", title="Labour cover")

    @hookimpl
    def resolve_coverage(self, session: Any, item_id: int, on: Any) -> Coverage:
        return Coverage(item_id=item_id, covered=True, coverage="labor", plan="Maker labour cover")


@pytest.fixture
def counter(app: Any, app_factory: Any, make_user: Any) -> Desk:
    hooked = app_factory(plugins=(LabourCover(),))
    rt = hooked.extensions["counterdesk"]
    assert rt.plugins.is_enabled("pos") and rt.plugins.is_enabled("repairs")
    return Desk(ApiClient(hooked.test_client(), make_user("admin")[1]))


def _till(desk: Desk) -> tuple[int, int]:
    """A store (the first, so repairs takes its parts from there), a register at it and
    an open shift: ``(location_id, shift_id)``."""
    loc = desk.location()
    reg = desk.ok(desk.api.post("pos/registers", json={"name": "Counter till",
                                                       "location_id": loc["id"]}), 201)
    shift = desk.ok(desk.api.post(f"pos/registers/{reg['id']}/sessions",
                                  json={"opening_cash": "100.00"}), 201)
    return loc["id"], shift["id"]


def _ready_ticket(desk: Desk, loc_id: int, shift_id: int) -> tuple[dict, dict]:
    """A laptop left with a 20.00 deposit paid at the till; a 30.00 part (10% tax)
    reserved from stock and 30 minutes of covered labour; ready for pickup."""
    part = desk.product(name="Hinge cable", kind="part", price="30.00", tax_rate="10")
    desk.stock_in(part["id"], loc_id, 2)
    laptop = desk.laptop()
    t = desk.intake(item_description=None, product_id=laptop["id"], serial="LAP 001",
                    deposit={"amount": "20.00", "method": "cash", "pos_session_id": shift_id})
    assert t["units"][0]["coverage"] == "labor"
    desk.move(t["id"], "diagnosing")
    p = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts",
                              json={"product_id": part["id"]}), 201)
    assert p["status"] == "reserved"
    lab = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                                json={"minutes": 30, "description": "Fit the cable"}), 201)
    assert lab["covered"] is True and lab["amount"] == "0.00"
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    level = desk.level(part["id"], loc_id)
    assert (level["on_hand"], level["reserved"]) == (2, 1)
    return t, part


def _deposit_sale(desk: Desk, t: dict) -> dict:
    sales = desk.ok(desk.api.get(f"pos/sales?customer_id={t['customer_id']}"))["items"]
    deposits = [s for s in sales if [ln["kind"] for ln in s["lines"]] == ["deposit"]]
    assert len(deposits) == 1, sales
    return deposits[0]


def _assert_pickup_sale(desk: Desk, sale: dict, t: dict, part: dict, loc_id: int,
                        payments: list[dict]) -> None:
    assert sale["kind"] == "sale" and sale["ticket_id"] == t["id"]
    assert sale["customer_id"] == t["customer_id"]
    part_line, labour_line, deposit_line = sale["lines"]
    assert (part_line["kind"], part_line["product_id"]) == ("part", part["id"])
    assert (part_line["unit_price"], part_line["tax"], part_line["total"]) == ("30.00", "3.00", "33.00")
    assert labour_line["kind"] == "labor" and labour_line["covered"] is True
    # covered work at zero, its list price kept for the receipt (30 min at 60.00/h)
    assert (labour_line["unit_price"], labour_line["total"], labour_line["list_price"]) == \
        ("0.00", "0.00", "30.00")
    assert deposit_line["kind"] == "deposit" and deposit_line["total"] == "-20.00"
    totals = {k: sum(Decimal(ln[k]) for ln in sale["lines"]) for k in ("net", "tax", "total")}
    assert (Decimal(sale["subtotal"]), Decimal(sale["tax"]), Decimal(sale["total"])) == \
        (totals["net"], totals["tax"], totals["total"]) == (Decimal("10.00"), Decimal("3.00"),
                                                            Decimal("13.00"))
    assert sale["payments"] == payments
    # the reservation left stock once: on hand 2 → 1, nothing reserved any more
    level = desk.level(part["id"], loc_id)
    assert (level["on_hand"], level["reserved"], level["available"]) == (1, 0, 1)
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "collected" and ticket["collected_at"] is not None
    assert [p["status"] for p in ticket["parts"]] == ["consumed"]


def test_deposit_and_pickup_through_the_till(counter: Desk) -> None:
    desk = counter
    loc_id, shift_id = _till(desk)
    t, part = _ready_ticket(desk, loc_id, shift_id)
    deposit = _deposit_sale(desk, t)
    assert deposit["ticket_id"] == t["id"] and deposit["session_id"] == shift_id
    assert (deposit["total"], deposit["payments"]) == ("20.00", [{"method": "cash", "amount": "20.00"}])
    assert desk.ticket(t["id"])["deposit_reference"] == deposit["number"]

    charges = desk.ok(desk.api.get(f"repairs/tickets/{t['id']}/charges"))
    assert [ln["kind"] for ln in charges["lines"]] == ["part", "labor"]
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={
        "pos_session_id": shift_id, "payments": [{"method": "card", "amount": "13.00"}]}), 201)
    assert (pk["total"], pk["deposit_applied"]) == ("30.00", "20.00")
    assert pk["ticket_status"] == "collected" and pk["sale_id"] is not None
    sale = desk.ok(desk.api.get(f"pos/sales/{pk['sale_id']}"))
    assert pk["sale_number"] == sale["number"]
    _assert_pickup_sale(desk, sale, t, part, loc_id, [{"method": "card", "amount": "13.00"}])
    # one pickup sale for the ticket besides the deposit
    sales = desk.ok(desk.api.get(f"pos/sales?session_id={shift_id}"))["items"]
    assert sorted(s["id"] for s in sales if s["ticket_id"] == t["id"]) == \
        sorted([deposit["id"], sale["id"]])
    assert desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                         json={"pos_session_id": shift_id}).status_code == 409


def test_the_tills_own_sale_collects_a_ready_ticket(counter: Desk) -> None:
    desk = counter
    loc_id, shift_id = _till(desk)
    t, part = _ready_ticket(desk, loc_id, shift_id)
    sale = desk.ok(desk.api.post("pos/sales", json={
        "session_id": shift_id, "customer_id": t["customer_id"], "ticket_id": t["id"],
        "payments": [{"method": "cash", "amount": "20.00"}]}), 201)
    _assert_pickup_sale(desk, sale, t, part, loc_id, [{"method": "cash", "amount": "20.00"}])
    assert sale["change_due"] == "7.00"
    pickups = desk.ticket(t["id"])["pickups"]
    assert [(p["sale_id"], p["sale_number"]) for p in pickups] == [(sale["id"], sale["number"])]
    # a collected ticket is no longer for sale
    r = desk.api.post("pos/sales", json={"session_id": shift_id, "ticket_id": t["id"],
                                         "payments": [{"method": "cash", "amount": "1.00"}]})
    assert r.status_code == 422 and r.json["error"]["code"] == "unknown_ticket"
