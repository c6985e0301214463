"""An estimate states its tax by the rule checkout charges by, so what the customer
approves is what they pay: the API, the staff ticket page, the customer's status page
(and its JSON), the drop-off receipt and the ``estimate_requested`` hook all give the
tax and the total. Work beyond what was approved is compared with what the customer
would pay for it, tax included, against the total they approved."""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from core import Manifest, hookimpl
from tests.conftest import ApiClient
from tests.core.test_web import Browser
from tests.plugins.repairs.conftest import Desk
from tests.plugins.repairs.test_pickup_tax import EXPECTED, _record_work, _tax_rules

# the work of test_pickup_tax (three parts at 10 %, 30 minutes of labour at 20 %),
# estimated before it is done: what checkout later charges for it
SAID = {False: "60.70 + 9.08 tax = 69.78", True: "60.70 (incl. 7.79 tax)"}


def _link(ticket: dict) -> tuple[str, str]:
    url = urlparse(ticket["status_url"])
    return url.path.rsplit("/", 1)[-1], parse_qs(url.query)["t"][0]


def _estimated_ticket(desk: Desk) -> dict:
    """The work of test_pickup_tax recorded on a ticket, no deposit, not yet estimated."""
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    _record_work(desk, t, desk.location()["id"])
    return t


@pytest.mark.parametrize("inclusive", [False, True], ids=["tax_added", "tax_included"])
def test_the_customer_approves_what_checkout_charges(desk: Desk, client: Any, app: Any,
                                                     make_user: Any, inclusive: bool) -> None:
    """The estimate of the work recorded, with its tax line by line: the staff see it,
    the customer reads and approves it on the status page, and checkout charges
    exactly that."""
    _tax_rules(desk, inclusive=inclusive)
    t = _estimated_ticket(desk)
    est = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json={}), 201)
    expected = EXPECTED[inclusive]
    total = str(Decimal(expected["total"]) + Decimal(expected["tax"]))
    assert (est["amount"], est["tax"], est["total"], est["prices_include_tax"], est["summary"]) == \
        ("60.70", expected["tax"], total, inclusive, SAID[inclusive])
    assert desk.ticket(t["id"])["estimates"][-1]["total"] == total
    # the staff ticket page
    make_user("manager", username="mo")
    staff = Browser(app.test_client())
    staff.sign_in("mo")
    page = staff.get(f"/repairs/tickets/{t['id']}").get_data(as_text=True)
    assert f"Estimate <span id=\"pending-estimate-amount\" data-total=\"{total}\">" \
           f"{SAID[inclusive]}</span> waiting for the customer." in page
    # the customer: the status page and its JSON
    number, token = _link(t)
    html = client.get(f"/repairs/status/{number}", query_string={"t": token}).get_data(as_text=True)
    assert f'Estimate: <span id="estimate-summary">{SAID[inclusive]}</span>' in html
    view = client.get(f"/api/v1/public/tickets/{number}", query_string={"t": token}).json
    assert {k: view["estimate"][k] for k in ("amount", "tax", "total", "summary")} == \
        {"amount": "60.70", "tax": expected["tax"], "total": total, "summary": SAID[inclusive]}
    r = client.post(f"/api/v1/public/tickets/{number}/decision", json={"t": token, "decision": "approve"})
    assert r.status_code == 200 and r.json["status"] == "in_repair"
    desk.move(t["id"], "ready")
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}), 201)
    assert pk["amount_due"] == total


def test_a_quoted_amount_states_its_tax(desk: Desk) -> None:
    """An amount the shop quotes is a price like its others: its tax at the rate
    given, else at the rate the work recorded so far comes to, else (nothing recorded)
    the labour tax rate."""
    _tax_rules(desk, inclusive=False)
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    quote = lambda body: desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json=body), 201)  # noqa: E731
    assert quote({"amount": "80.00"})["summary"] == "80.00 + 16.00 tax = 96.00"       # labour's 20 %
    assert quote({"amount": "80.00", "tax_rate": "8.25"})["summary"] == "80.00 + 6.60 tax = 86.60"
    # 60.00 of labour (12.00 tax) and a 40.00 part at 5 % (2.00): 14 % so far
    part = desk.product(name="Fan", kind="part", price="40.00", tax_rate="5")
    desk.stock_in(part["id"], desk.location()["id"], 1)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": part["id"]}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 60, "description": "Clean"}), 201)
    assert quote({})["summary"] == "100.00 + 14.00 tax = 114.00"
    assert quote({"amount": "100.00"})["summary"] == "100.00 + 14.00 tax = 114.00"
    assert quote({"amount": "150.00"})["summary"] == "150.00 + 21.00 tax = 171.00"
    for body in ({"amount": "1.00", "tax_rate": "101"}, {"tax_rate": "10"}):
        bad = desk.api.post(f"repairs/tickets/{t['id']}/estimate", json=body)
        assert bad.status_code == 422 and "tax_rate" in bad.json["error"]["fields"]


def test_the_drop_off_receipt_states_the_estimates_tax(desk: Desk) -> None:
    """Agreed at the counter before any work: taxed at the labour tax rate, and the
    receipt says so."""
    _tax_rules(desk, inclusive=False)
    t = desk.intake(estimate="150.00")
    assert (t["estimates"][0]["tax"], t["estimates"][0]["total"]) == ("30.00", "180.00")
    text = desk.api.get(f"repairs/tickets/{t['id']}/receipt").get_data(as_text=True)
    assert "150.00 + 30.00 tax = 180.00" in text


def _labour(desk: Desk, ticket_id: int, minutes: int) -> None:
    desk.ok(desk.api.post(f"repairs/tickets/{ticket_id}/labor",
                          json={"minutes": minutes, "description": "Work"}), 201)


def _approved(desk: Desk, body: dict) -> dict:
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json=body), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/approval", json={"approved": True, "via": "phone"}))
    return t


def test_work_beyond_the_approved_total_asks_again_tax_included(desk: Desk) -> None:
    """Approved "100.00 + 0.00 tax = 100.00": 100.00 of labour at 20 % is 120.00 to
    pay, more than approved — asked again, though the work before tax is within the
    amount. Approved "100.00 + 20.00 tax = 120.00": 110.00 of work without tax is
    within it — not asked again, though more than the amount before tax."""
    _tax_rules(desk, inclusive=False)
    nil = desk.product(name="Untaxed part", kind="part", price="110.00", tax_rate="0")
    desk.stock_in(nil["id"], desk.location()["id"], 1)
    t = _approved(desk, {"amount": "100.00", "tax_rate": "0"})
    _labour(desk, t["id"], 100)
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "awaiting_approval"
    again = ticket["estimates"][-1]
    assert (again["status"], again["summary"]) == ("pending", "100.00 + 20.00 tax = 120.00")
    assert again["note"] == "The work now comes to 120.00 with tax, more than the 100.00 approved."

    t = _approved(desk, {"amount": "100.00", "tax_rate": "20"})
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": nil["id"]}), 201)
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "in_repair"
    assert [e["status"] for e in ticket["estimates"]] == ["approved"]


class EstimateRecorder:
    manifest = Manifest(name="estimate_recorder", version="0", title="Estimate recorder")

    def __init__(self) -> None:
        self.amounts: list[Decimal] = []

    @hookimpl
    def estimate_requested(self, session: Any, ticket: Any, amount: Decimal, actor: Any) -> None:
        self.amounts.append(amount)


def test_the_estimate_hook_gives_what_the_customer_would_pay(app: Any, app_factory: Any,
                                                            make_user: Any) -> None:
    """A notification sent from ``estimate_requested`` quotes the total, tax included."""
    recorder = EstimateRecorder()
    desk = Desk(ApiClient(app_factory(plugins=(recorder,)).test_client(), make_user("admin")[1]))
    _tax_rules(desk, inclusive=False)
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json={"amount": "80.00"}), 201)
    assert recorder.amounts == [Decimal("96.00")]


def test_the_ticket_page_sends_an_estimate_with_its_tax_rate(desk: Desk, app: Any,
                                                             make_user: Any) -> None:
    """The staff form: an amount and a tax rate; a wrong one is a message, not an error
    page (an amount too large to round among them)."""
    _tax_rules(desk, inclusive=False)
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    make_user("manager", username="mo")
    staff = Browser(app.test_client())
    staff.sign_in("mo")
    page = f"/repairs/tickets/{t['id']}"
    staff.get(page)
    for amount, rate in (("1e30", ""), ("80.00", "120"), ("80.00", "8.2501")):
        r = staff.post(f"{page}/estimate", {"amount": amount, "tax_rate": rate})
        assert r.status_code == 302, (amount, rate, r.status_code)
        assert desk.ticket(t["id"])["estimates"] == []
    r = staff.post(f"{page}/estimate", {"amount": "80.00", "tax_rate": "8.25 %", "note": "Screen"})
    assert r.status_code == 302
    assert "80.00 + 6.60 tax = 86.60</span> waiting" in staff.get(page).get_data(as_text=True)
