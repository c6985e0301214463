"""What checkout will charge, through the API: ``GET /repairs/tickets/{id}/charges``
(and the ticket's ``charges``) gives each line before tax, its tax and total, their
sums, the deposit applied and the amount due — the figures checkout then records, so
an integrator or the till screen need not re-implement the rule. A ticket with
nothing to charge is handed back without a till sale."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.plugins.repairs.conftest import Desk
from tests.plugins.repairs.test_pickup_tax import (EXPECTED, OWED, _figures, _labour_ticket,
                                                   _ready_ticket, _tax_rules, _till)


def _sums(charges: dict) -> dict:
    return {k: charges[k] for k in ("subtotal", "tax", "total", "deposit", "amount_due")}


@pytest.mark.parametrize("inclusive", [False, True], ids=["tax_added", "tax_included"])
def test_the_charges_are_what_checkout_records(desk: Desk, inclusive: bool) -> None:
    _tax_rules(desk, inclusive=inclusive)
    t = _ready_ticket(desk, desk.location()["id"])
    charges = desk.ok(desk.api.get(f"repairs/tickets/{t['id']}/charges"))
    assert charges["prices_include_tax"] is inclusive
    assert [ln["kind"] for ln in charges["lines"]] == ["part", "part", "part", "labor"]
    assert [(ln["net"], ln["tax"], ln["total"]) for ln in charges["lines"]] == OWED[inclusive]
    expected = EXPECTED[inclusive]
    assert _sums(charges) == {
        "subtotal": expected["total"], "tax": expected["tax"],
        "total": str(Decimal(expected["total"]) + Decimal(expected["tax"])),
        "deposit": expected["deposit_applied"], "amount_due": expected["amount_due"]}
    assert desk.ticket(t["id"])["charges"] == charges
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}), 201)
    assert (pk["total"], pk["tax"], pk["deposit_applied"], pk["amount_due"]) == \
        (charges["subtotal"], charges["tax"], charges["deposit"], charges["amount_due"])


def test_the_charges_show_a_deposit_paid_back(desk: Desk) -> None:
    """100.00 deposit, 60.00 of labour and 12.00 tax: 28.00 to pay back."""
    _tax_rules(desk, inclusive=False)
    t = _labour_ticket(desk, {"amount": "100.00", "method": "cash"})
    charges = desk.ok(desk.api.get(f"repairs/tickets/{t['id']}/charges"))
    assert _sums(charges) == {"subtotal": "60.00", "tax": "12.00", "total": "72.00",
                              "deposit": "100.00", "amount_due": "-28.00"}
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}), 201)
    assert pk["amount_due"] == "-28.00"
    after = desk.ok(desk.api.get(f"repairs/tickets/{t['id']}/charges"))
    assert (after["lines"], _sums(after)) == ([], {"subtotal": "0.00", "tax": "0.00", "total": "0.00",
                                                   "deposit": "0.00", "amount_due": "0.00"})


def test_the_charges_are_in_the_openapi_document(client: Any) -> None:
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    charges = next(s for name, s in schemas.items() if name.startswith("Charges"))
    assert {"subtotal", "tax", "total", "deposit", "amount_due", "prices_include_tax"} <= \
        set(charges["properties"])
    assert "negative" in charges["properties"]["amount_due"]["description"]
    line = next(s for name, s in schemas.items() if name.startswith("ChargeLine"))
    assert {"net", "tax", "total"} <= set(line["properties"])


# ---------------------------------------------------------------- nothing to charge

def _nothing_done(desk: Desk) -> dict:
    """No fault found, no deposit: nothing to charge."""
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    desk.move(t["id"], "ready")
    return t


def test_a_ticket_with_nothing_to_charge_is_handed_back_without_a_sale(desk: Desk) -> None:
    """Checked out at the till: no sale (a sale needs a line, and no money or goods
    change hands: the drawer has nothing to count), the pickup records nothing paid."""
    _loc_id, shift_id = _till(desk)
    t = _nothing_done(desk)
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"pos_session_id": shift_id}), 201)
    assert (pk["sale_id"], pk["sale_number"], pk["payment_method"]) == (None, "", "none")
    assert _figures(pk) == {"total": "0.00", "tax": "0.00", "deposit_applied": "0.00",
                            "amount_due": "0.00"}
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "collected" and [p["id"] for p in ticket["pickups"]] == [pk["id"]]
    assert all(u["released_at"] for u in ticket["units"])
    report = desk.ok(desk.api.get(f"pos/sessions/{shift_id}/report"))
    assert report["sales"]["count"] == 0
    # a payment offered for nothing is refused, not pocketed
    other = _nothing_done(desk)
    charges = desk.ok(desk.api.get(f"repairs/tickets/{other['id']}/charges"))
    assert (charges["lines"], charges["amount_due"]) == ([], "0.00")
    paid = desk.api.post(f"repairs/tickets/{other['id']}/checkout", json={
        "pos_session_id": shift_id, "payments": [{"method": "cash", "amount": "5.00"}]})
    assert paid.status_code == 422 and paid.json["error"]["code"] == "nothing_to_pay"
    assert desk.ticket(other["id"])["status"] == "ready"
