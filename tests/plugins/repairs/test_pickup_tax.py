"""A pickup records what the customer pays, tax included. Rung up on the real till,
its figures are what the sale charged for the ticket (prices exclusive of tax, and
inclusive with ``prices_include_tax``); recorded without a till (paid elsewhere, or a
repair-only shop without pos) they are the same figures by the till's rule: each
line's tax rounded on its own. The ticket's timeline says the same amount."""
from __future__ import annotations

from typing import Any

import pytest

from plugins.repairs import services
from tests.conftest import ApiClient
from tests.plugins.repairs.conftest import Desk

# A 30.00 hinge cable, a 0.25 screw and a 0.45 fuse at 10 % tax, 30 minutes of labour
# at 60.00/h with 20 % tax on labour, less a 20.00 deposit.
#   exclusive: tax 3.00 + 0.03 + 0.05 + 6.00 = 9.08 (one rounding of the parts' 30.70
#              would give 3.07, 9.07 in all); 60.70 + 9.08 − 20.00 = 49.78 due
#   inclusive: tax 2.73 + 0.02 + 0.04 + 5.00 = 7.79 inside 60.70; 60.70 − 20.00 = 40.70
EXPECTED = {False: {"total": "60.70", "tax": "9.08", "deposit_applied": "20.00",
                    "amount_due": "49.78"},
            True: {"total": "52.91", "tax": "7.79", "deposit_applied": "20.00",
                   "amount_due": "40.70"}}
PARTS = (("Hinge cable", "30.00"), ("Screw", "0.25"), ("Fuse", "0.45"))


def _figures(pickup: dict) -> dict:
    return {k: pickup[k] for k in ("total", "tax", "deposit_applied", "amount_due")}


def _tax_rules(desk: Desk, *, inclusive: bool) -> None:
    desk.ok(desk.api.put("settings/repairs", json={"values": {"labour_tax_rate": "20"}}))
    desk.ok(desk.api.put("settings/core", json={"values": {"prices_include_tax": inclusive}}))


def _till(desk: Desk) -> tuple[int, int]:
    """The first store (repairs takes its parts from there), a register at it and an
    open shift: ``(location_id, shift_id)``."""
    loc = desk.location()
    reg = desk.ok(desk.api.post("pos/registers", json={"name": "Counter", "location_id": loc["id"]}), 201)
    shift = desk.ok(desk.api.post(f"pos/registers/{reg['id']}/sessions",
                                  json={"opening_cash": "100.00"}), 201)
    return loc["id"], shift["id"]


def _ready_ticket(desk: Desk, loc_id: int, *, units: list | None = None,
                  deposit: str = "20.00") -> dict:
    """The work above on one ticket, ready for pickup."""
    t = desk.intake(deposit={"amount": deposit, "method": "cash"}, **({"units": units} if units else {}))
    desk.move(t["id"], "diagnosing")
    for name, price in PARTS:
        part = desk.product(name=name, kind="part", price=price, tax_rate="10")
        desk.stock_in(part["id"], loc_id, 1)
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": part["id"]}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 30, "description": "Fit the cable"}), 201)
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    return t


def _timeline_pickups(runtime: Any, ticket_id: int) -> list[str]:
    with runtime.unit_of_work(write=False) as s:
        events = services.timeline(s, services.get_ticket(s, ticket_id))
        return [e["title"] for e in events if e["kind"] == "pickup"]


@pytest.mark.parametrize("inclusive", [False, True], ids=["tax_added", "tax_included"])
def test_a_pickup_at_the_till_records_what_the_sale_charged(desk: Desk, runtime: Any,
                                                           inclusive: bool) -> None:
    loc_id, shift_id = _till(desk)
    _tax_rules(desk, inclusive=inclusive)
    t = _ready_ticket(desk, loc_id)
    # no payments given: the desk offers its own figure in cash, which the till must
    # find exactly right (no change, nothing short)
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"pos_session_id": shift_id}), 201)
    sale = desk.ok(desk.api.get(f"pos/sales/{pk['sale_id']}"))
    assert sale["prices_include_tax"] is inclusive
    assert (pk["amount_due"], pk["tax"]) == (sale["total"], sale["tax"])
    assert sale["payments"] == [{"method": "cash", "amount": sale["total"]}]
    assert sale["change_due"] == "0.00"
    assert _figures(pk) == EXPECTED[inclusive]
    assert [p["amount_due"] for p in desk.ticket(t["id"])["pickups"]] == [sale["total"]]
    assert _timeline_pickups(runtime, t["id"]) == [f"Picked up, {sale['total']} due"]


@pytest.mark.parametrize("inclusive", [False, True], ids=["tax_added", "tax_included"])
def test_a_pickup_without_the_till_records_the_same_figures(desk: Desk, runtime: Any,
                                                           inclusive: bool) -> None:
    loc_id = desk.location()["id"]
    _tax_rules(desk, inclusive=inclusive)
    t = _ready_ticket(desk, loc_id)
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"payment_method": "card", "payment_reference": "AUTH-7"}), 201)
    assert pk["sale_id"] is None and pk["ticket_status"] == "collected"
    assert _figures(pk) == EXPECTED[inclusive]
    due = EXPECTED[inclusive]["amount_due"]
    assert _timeline_pickups(runtime, t["id"]) == [f"Picked up, {due} due"]


def test_the_tills_own_sale_of_the_ticket_and_other_goods(desk: Desk) -> None:
    """The till's sale with ``ticket_id`` may sell more than the repair: the pickup
    records the ticket's part of it."""
    loc_id, shift_id = _till(desk)
    _tax_rules(desk, inclusive=False)
    t = _ready_ticket(desk, loc_id)
    lock = desk.product(name="Bike lock", price="15.00", tax_rate="10")
    desk.stock_in(lock["id"], loc_id, 1)
    sale = desk.ok(desk.api.post("pos/sales", json={
        "session_id": shift_id, "customer_id": t["customer_id"], "ticket_id": t["id"],
        "lines": [{"product_id": lock["id"], "quantity": 1}],
        "payments": [{"method": "card", "amount": "66.28"}]}), 201)
    assert sale["total"] == "66.28"            # 49.78 for the repair, 16.50 for the lock
    [pk] = desk.ticket(t["id"])["pickups"]
    assert pk["sale_id"] == sale["id"] and _figures(pk) == EXPECTED[False]


@pytest.mark.parametrize("at_till", [True, False], ids=["till", "no_till"])
def test_a_deposit_goes_against_the_work_with_its_tax(desk: Desk, at_till: bool) -> None:
    """Units released one by one: the deposit goes against the first one's work with
    its tax (72.00), not the work alone (60.00)."""
    loc_id, shift_id = _till(desk)
    _tax_rules(desk, inclusive=False)
    t = desk.intake(units=[{"item_description": "Second speaker"}],
                    deposit={"amount": "70.00", "method": "cash"})
    u1, u2 = (u["id"] for u in t["units"])
    desk.move(t["id"], "diagnosing")
    for unit in (u1, u2):    # 60.00 of labour each, 12.00 tax on it
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                              json={"minutes": 60, "description": "Fix", "unit_id": unit}), 201)
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    till = {"pos_session_id": shift_id} if at_till else {}
    first = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                                  json={"unit_ids": [u1], **till}), 201)
    assert _figures(first) == {"total": "60.00", "tax": "12.00", "deposit_applied": "70.00",
                               "amount_due": "2.00"}
    second = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json=till), 201)
    assert _figures(second) == {"total": "60.00", "tax": "12.00", "deposit_applied": "0.00",
                                "amount_due": "72.00"}
    if at_till:
        sales = [desk.ok(desk.api.get(f"pos/sales/{pk['sale_id']}")) for pk in (first, second)]
        assert [s["total"] for s in sales] == ["2.00", "72.00"]


def test_a_repair_only_shop_records_the_same_figures(app_factory: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from core.auth import create_user, issue_token
    from tests.conftest import PASSWORD, TEST_PASSWORD_METHOD
    monkeypatch.setenv("COUNTERDESK_PLUGINS", "repairs")
    app = app_factory()
    rt = app.extensions["counterdesk"]
    assert rt.plugins.is_enabled("repairs") and not rt.plugins.is_enabled("pos")
    with rt.unit_of_work() as s:
        user = create_user(s, username="boss", password=PASSWORD, roles=["admin"], actor=None,
                           password_method=TEST_PASSWORD_METHOD)
        token = issue_token(s, user)[1]
    desk = Desk(ApiClient(app.test_client(), token))
    _tax_rules(desk, inclusive=False)
    t = _ready_ticket(desk, desk.location()["id"])
    # a till session named where there is no till: the pickup is recorded here
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"pos_session_id": 1, "payment_method": "cash"}), 201)
    assert pk["sale_id"] is None and _figures(pk) == EXPECTED[False]
    assert _timeline_pickups(rt, t["id"]) == ["Picked up, 49.78 due"]
