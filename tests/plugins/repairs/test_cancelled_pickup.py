"""A cancelled ticket's units are handed back like a ready ticket's: the customer
collects them and gets back what is left of the deposit — through the till (a sale
of the negative deposit line, paid out as change) or recorded at the desk. Parts
went back to stock when the ticket was cancelled, so they cost nothing; labour
recorded before (the diagnosis the drop-off terms say is due) is charged. The
ticket stays ``cancelled`` (``collected`` is a repair handed back), its units
released and the pickup on its timeline."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.core.test_web import Browser
from tests.plugins.repairs.conftest import Desk
from tests.plugins.repairs.test_pickup_tax import (_revenue, _tax_rules, _till,
                                                  _timeline_pickups)


def _cancelled_ticket(desk: Desk, loc_id: int, shift_id: int, *, diagnosed: bool) -> tuple[dict, dict]:
    """A 50.00 deposit taken at the till; ``diagnosed``: a 30.00 hinge (10 %) reserved
    from stock and 30 minutes of labour (30.00 + 20 % tax) before the customer
    cancels. ``(ticket, hinge)``."""
    _tax_rules(desk, inclusive=False)
    hinge = desk.product(name="Hinge", kind="part", price="30.00", tax_rate="10")
    desk.stock_in(hinge["id"], loc_id, 1)
    t = desk.intake(deposit={"amount": "50.00", "method": "cash", "pos_session_id": shift_id})
    desk.move(t["id"], "diagnosing")
    if diagnosed:
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": hinge["id"]}), 201)
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                              json={"minutes": 30, "description": "Diagnosis"}), 201)
        assert desk.level(hinge["id"], loc_id)["reserved"] == 1
    t = desk.move(t["id"], "cancelled")
    assert {p["status"] for p in t["parts"]} <= {"released"}
    return t, hinge


# diagnosed: 36.00 of labour with its tax against the 50.00 deposit → 14.00 back
BACK = {False: ("0.00", "0.00", "-50.00"), True: ("30.00", "6.00", "-14.00")}


@pytest.mark.parametrize("diagnosed", [False, True], ids=["no_work", "diagnosed"])
@pytest.mark.parametrize("at_till", [True, False], ids=["till", "desk"])
def test_a_cancelled_ticket_hands_back_the_unit_and_what_is_left_of_the_deposit(
        desk: Desk, runtime: Any, at_till: bool, diagnosed: bool) -> None:
    loc_id, shift_id = _till(desk)
    t, hinge = _cancelled_ticket(desk, loc_id, shift_id, diagnosed=diagnosed)
    total, tax, due = BACK[diagnosed]
    back = due.lstrip("-")
    charges = desk.ok(desk.api.get(f"repairs/tickets/{t['id']}/charges"))
    assert [ln["kind"] for ln in charges["lines"]] == (["labor"] if diagnosed else [])
    assert (charges["deposit"], charges["amount_due"]) == ("50.00", due)

    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"pos_session_id": shift_id} if at_till else {}), 201)
    assert (pk["total"], pk["tax"], pk["deposit_applied"], pk["amount_due"]) == \
        (total, tax, "50.00", due)
    assert pk["ticket_status"] == "cancelled"
    if at_till:
        sale = desk.ok(desk.api.get(f"pos/sales/{pk['sale_id']}"))
        assert sale["ticket_id"] == t["id"] and pk["sale_number"] == sale["number"]
        assert [(ln["kind"], ln["total"]) for ln in sale["lines"]] == \
            ([("labor", "36.00")] if diagnosed else []) + [("deposit", "-50.00")]
        assert (sale["total"], sale["paid"], sale["change_due"]) == (due, "0.00", back)
        # the drawer: 100.00 to open, the 50.00 deposit in, the change out
        cash = desk.ok(desk.api.get(f"pos/sessions/{shift_id}/report"))["cash"]
        assert (Decimal(cash["change_given"]), Decimal(cash["expected"])) == \
            (Decimal(back), Decimal("150.00") - Decimal(back))
    else:
        assert (pk["sale_id"], pk["payment_method"]) == (None, "cash")

    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "cancelled" and ticket["collected_at"] is not None
    assert all(u["released_at"] for u in ticket["units"])
    assert (ticket["charges"]["deposit"], ticket["charges"]["amount_due"]) == ("0.00", "0.00")
    assert [p["amount_due"] for p in ticket["pickups"]] == [due]
    assert _timeline_pickups(runtime, t["id"]) == [f"Picked up, {back} paid back"]
    # the part went back to stock on cancelling and was not sold; the labour was
    level = desk.level(hinge["id"], loc_id)
    assert (level["on_hand"], level["reserved"]) == (1, 0)
    assert _revenue(desk, "(unassigned)")[0] == Decimal(total)
    # handed back once
    again = desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={"pos_session_id": shift_id})
    assert again.status_code == 409 and again.json["error"]["code"] == "ticket_not_ready"


def test_the_tills_own_sale_hands_back_a_cancelled_ticket(desk: Desk, app: Any,
                                                          make_user: Any) -> None:
    """The ticket page offers the hand-back with the deposit to pay back; the till's
    own sale of the ticket (``ticket_id``) pays it back and records the pickup, once."""
    loc_id, shift_id = _till(desk)
    t, _hinge = _cancelled_ticket(desk, loc_id, shift_id, diagnosed=False)
    make_user("manager", username="mo")
    browser = Browser(app.test_client())
    browser.sign_in("mo")
    html = browser.get(f"/repairs/tickets/{t['id']}").get_data(as_text=True)
    assert 'id="checkout-form"' in html and 'id="owed-due" data-amount="-50.00"' in html

    sale = desk.ok(desk.api.post("pos/sales", json={
        "session_id": shift_id, "customer_id": t["customer_id"], "ticket_id": t["id"]}), 201)
    assert [(ln["kind"], ln["total"]) for ln in sale["lines"]] == [("deposit", "-50.00")]
    assert (sale["total"], sale["change_due"]) == ("-50.00", "50.00")
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "cancelled" and ticket["charges"]["deposit"] == "0.00"
    assert [(p["sale_id"], p["deposit_applied"], p["amount_due"]) for p in ticket["pickups"]] == \
        [(sale["id"], "50.00", "-50.00")]
    again = desk.api.post("pos/sales", json={"session_id": shift_id, "ticket_id": t["id"]})
    assert again.status_code == 422 and again.json["error"]["code"] == "unknown_ticket"
    html = browser.get(f"/repairs/tickets/{t['id']}").get_data(as_text=True)
    assert 'id="checkout-form"' not in html


def test_the_board_lists_cancelled_tickets_whose_units_wait_to_be_handed_back(
        app: Any, desk: Desk, make_user: Any) -> None:
    """The counter sees what waits to be handed back; once it is, it leaves the board."""
    import re
    loc_id, shift_id = _till(desk)
    t, _hinge = _cancelled_ticket(desk, loc_id, shift_id, diagnosed=False)
    make_user("manager", username="mo")
    browser = Browser(app.test_client())
    browser.sign_in("mo")

    def waiting() -> list[str]:
        html = browser.get("/repairs/").get_data(as_text=True)
        column = re.search(r'data-status="cancelled".*?</section>', html, re.S)
        assert column and "Cancelled, to hand back" in column.group(0)
        return re.findall(r'data-ticket="(\d+)"', column.group(0))

    assert waiting() == [str(t["id"])]
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}), 201)
    assert waiting() == []
