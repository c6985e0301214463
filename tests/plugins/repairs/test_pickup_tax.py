"""A pickup records what the customer pays, tax included. Rung up on the real till,
its figures are what the sale charged for the ticket (prices exclusive of tax, and
inclusive with ``prices_include_tax``); recorded without a till (paid elsewhere, or a
repair-only shop without pos) they are the same figures by the till's rule: each
line's tax rounded on its own. The ticket's timeline says the same amount.

The last pickup applies all that is left of the deposit: one larger than the work is
paid back (at the till as change). The ticket page shows beforehand what checkout
will charge; the technician report counts the work before tax."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from core import Coverage, Manifest, hookimpl
from plugins.repairs import services
from tests.conftest import ApiClient
from tests.core.test_web import Browser
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
    _record_work(desk, t, loc_id)
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    return t


def _record_work(desk: Desk, t: dict, loc_id: int) -> None:
    """The parts above (from stock at ``loc_id``) and the labour, on ticket ``t``."""
    for name, price in PARTS:
        part = desk.product(name=name, kind="part", price=price, tax_rate="10")
        desk.stock_in(part["id"], loc_id, 1)
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": part["id"]}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 30, "description": "Fit the cable"}), 201)


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


class SerialPartsCover:
    """Warranty, as far as repairs can tell: a unit whose serial starts COVERED has
    its parts covered; any other unit nothing."""
    manifest = Manifest(name="serial_parts_cover", version="0", title="Serial parts cover")

    @hookimpl
    def resolve_coverage(self, session: Any, item_id: int, on: Any) -> Coverage:
        from core import Item
        covered = (session.get(Item, item_id).serial or "").startswith("COVERED")
        return Coverage(item_id=item_id, covered=covered, coverage="parts" if covered else "")


# The ticket's hinge (the catalog's: 30.00 at 10 %) and 30 minutes of labour (30.00 +
# 6.00 tax); the same sale sells a spare hinge from the catalog, scanned first.
#   covered: the ticket's hinge costs nothing          → 30.00 + 6.00,  parts 0.00
#   ticket_price: the ticket's hinge at 25.00 (+ 2.50)  → 55.00 + 8.50,  parts 25.00
#   old_rate: the catalog's rate is 20 % since the hinge went on the ticket (at 10 %)
#                                                       → 60.00 + 9.00,  parts 30.00
SAME_PART = {"covered": ("30.00", "6.00", "36.00", "0.00", "33.00"),
             "ticket_price": ("55.00", "8.50", "63.50", "25.00", "33.00"),
             "old_rate": ("60.00", "9.00", "69.00", "30.00", "36.00")}


@pytest.mark.parametrize("case", sorted(SAME_PART))
def test_the_tills_own_sale_of_the_ticket_and_the_same_part(app_factory: Any, make_user: Any,
                                                            case: str) -> None:
    """The till's sale with ``ticket_id`` also sells the part the ticket used, at the
    catalog's price and rate: the pickup records the ticket's line (its price, zero
    when covered, and its rate), not the spare one, and so does parts revenue."""
    desk = Desk(ApiClient(app_factory(plugins=(SerialPartsCover(),)).test_client(),
                          make_user("admin")[1]))
    loc_id, shift_id = _till(desk)
    _tax_rules(desk, inclusive=False)
    hinge = desk.product(name="Hinge", kind="part", price="30.00", tax_rate="10")
    desk.stock_in(hinge["id"], loc_id, 2)
    t = desk.intake(item_description=None, product_id=desk.laptop()["id"],
                    serial="COVERED-1" if case == "covered" else "PLAIN-1")
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={
        "product_id": hinge["id"], **({"unit_price": "25.00"} if case == "ticket_price" else {})}), 201)
    if case == "old_rate":
        desk.ok(desk.api.patch(f"products/{hinge['id']}", json={"tax_rate": "20"}))
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 30, "description": "Fit the hinge"}), 201)
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    total, tax, due, parts, spare = SAME_PART[case]
    assert desk.ok(desk.api.get(f"repairs/tickets/{t['id']}/charges"))["amount_due"] == due
    sale = desk.ok(desk.api.post("pos/sales", json={
        "session_id": shift_id, "customer_id": t["customer_id"], "ticket_id": t["id"],
        "lines": [{"product_id": hinge["id"]}],
        "payments": [{"method": "cash", "amount": "150.00"}]}), 201)
    assert [(ln["kind"], ln["total"]) for ln in sale["lines"]][0] == ("part", spare)
    assert Decimal(sale["total"]) == Decimal(spare) + Decimal(due)
    [pk] = desk.ticket(t["id"])["pickups"]
    assert (pk["sale_id"], pk["total"], pk["tax"], pk["amount_due"]) == (sale["id"], total, tax, due)
    assert _revenue(desk, "(unassigned)") == (Decimal("30.00"), Decimal(parts))
    assert desk.level(hinge["id"], loc_id)["on_hand"] == 0     # the spare and the ticket's


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


# ---------------------------------------------------------------- a deposit larger than the work

def _labour_ticket(desk: Desk, deposit: dict, minutes: tuple[int, ...] = (60,)) -> dict:
    """A ticket with one unit per entry of ``minutes`` (labour at 60.00/h on each),
    ready for pickup."""
    extra = [{"item_description": f"Unit {i}"} for i in range(2, len(minutes) + 1)]
    t = desk.intake(deposit=deposit, **({"units": extra} if extra else {}))
    desk.move(t["id"], "diagnosing")
    for unit, mins in zip(t["units"], minutes):
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                              json={"minutes": mins, "description": "Fix", "unit_id": unit["id"]}), 201)
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    return t


@pytest.mark.parametrize("inclusive", [False, True], ids=["tax_added", "tax_included"])
def test_the_till_pays_back_a_deposit_larger_than_the_work(desk: Desk, runtime: Any,
                                                            inclusive: bool) -> None:
    """100.00 paid at the till at intake, 60.00 of labour (plus 12.00 tax, or 10.00 of
    tax inside it): the pickup's sale has a negative total and the till gives the
    rest back as change; nothing of the deposit is left on the ticket."""
    _loc_id, shift_id = _till(desk)
    _tax_rules(desk, inclusive=inclusive)
    t = _labour_ticket(desk, {"amount": "100.00", "method": "cash", "pos_session_id": shift_id})
    back = "40.00" if inclusive else "28.00"
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"pos_session_id": shift_id}), 201)
    sale = desk.ok(desk.api.get(f"pos/sales/{pk['sale_id']}"))
    assert [(ln["kind"], ln["total"]) for ln in sale["lines"]] == \
        [("labor", "60.00" if inclusive else "72.00"), ("deposit", "-100.00")]
    assert (sale["total"], sale["paid"], sale["change_due"]) == (f"-{back}", "0.00", back)
    assert (pk["deposit_applied"], pk["amount_due"]) == ("100.00", sale["total"])
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "collected" and ticket["charges"]["deposit"] == "0.00"
    assert [p["amount_due"] for p in ticket["pickups"]] == [f"-{back}"]
    assert _timeline_pickups(runtime, t["id"]) == [f"Picked up, {back} paid back"]
    # the drawer: 100.00 to open, the 100.00 deposit in, the change out
    cash = desk.ok(desk.api.get(f"pos/sessions/{shift_id}/report"))["cash"]
    assert (Decimal(cash["change_given"]), Decimal(cash["expected"])) == \
        (Decimal(back), Decimal("200.00") - Decimal(back))


def test_an_earlier_unit_takes_the_deposit_up_to_its_work_the_last_all_that_is_left(
        desk: Desk) -> None:
    """Two units at the till, 100.00 deposit: the first (72.00 with tax) takes 72.00 of
    it and pays nothing; the last (12.00 with tax) takes the other 28.00 and is paid
    16.00 back."""
    _loc_id, shift_id = _till(desk)
    _tax_rules(desk, inclusive=False)
    t = _labour_ticket(desk, {"amount": "100.00", "method": "cash"}, minutes=(60, 10))
    u1 = t["units"][0]["id"]
    first = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                                  json={"unit_ids": [u1], "pos_session_id": shift_id}), 201)
    assert _figures(first) == {"total": "60.00", "tax": "12.00", "deposit_applied": "72.00",
                               "amount_due": "0.00"}
    assert desk.ticket(t["id"])["charges"]["deposit"] == "28.00"
    last = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                                 json={"pos_session_id": shift_id}), 201)
    assert _figures(last) == {"total": "10.00", "tax": "2.00", "deposit_applied": "28.00",
                              "amount_due": "-16.00"}
    sales = [desk.ok(desk.api.get(f"pos/sales/{pk['sale_id']}")) for pk in (first, last)]
    assert [(s["total"], s["change_due"]) for s in sales] == [("0.00", "0.00"), ("-16.00", "16.00")]
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "collected" and ticket["charges"]["deposit"] == "0.00"


def test_the_tills_own_sale_pays_back_the_deposit_of_a_ticket_with_no_work(desk: Desk) -> None:
    """Nothing was done (no fault found): the till's sale of the ticket is the deposit
    paid back, once — it is the pickup, not another deposit taken."""
    _loc_id, shift_id = _till(desk)
    t = desk.intake(deposit={"amount": "50.00", "method": "cash"})
    desk.move(t["id"], "diagnosing")
    desk.move(t["id"], "ready")
    sale = desk.ok(desk.api.post("pos/sales", json={
        "session_id": shift_id, "customer_id": t["customer_id"], "ticket_id": t["id"]}), 201)
    assert (sale["total"], sale["change_due"]) == ("-50.00", "50.00")
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "collected" and ticket["charges"]["deposit"] == "0.00"
    assert [(p["sale_id"], p["deposit_applied"], p["amount_due"]) for p in ticket["pickups"]] == \
        [(sale["id"], "50.00", "-50.00")]
    again = desk.api.post("pos/sales", json={"session_id": shift_id, "ticket_id": t["id"]})
    assert again.status_code == 422 and again.json["error"]["code"] == "unknown_ticket"


# ---------------------------------------------------------------- the ticket page

_OWED_ROW = re.compile(r'<tr data-owed="(\w+)"><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>'
                       r'<td>([^<]*)</td></tr>')
_OWED_WORK = re.compile(r'<tr id="owed-work"><th>Work</th><td>([^<]*)</td><td>([^<]*)</td>'
                        r'<td>([^<]*)</td></tr>')
_OWED_DUE = re.compile(r'<tr id="owed-due" data-amount="([^"]*)">')

# the work of _ready_ticket, line by line: (net, tax, total)
OWED = {False: [("30.00", "3.00", "33.00"), ("0.25", "0.03", "0.28"), ("0.45", "0.05", "0.50"),
                ("30.00", "6.00", "36.00")],
        True: [("27.27", "2.73", "30.00"), ("0.23", "0.02", "0.25"), ("0.41", "0.04", "0.45"),
               ("25.00", "5.00", "30.00")]}


@pytest.mark.parametrize("inclusive", [False, True], ids=["tax_added", "tax_included"])
def test_the_ticket_page_shows_what_checkout_will_charge(desk: Desk, app: Any, make_user: Any,
                                                         inclusive: bool) -> None:
    """Staff see on the ready ticket each line as the customer pays for it (tax added,
    or inside the price), the work's sums, the deposit, and the amount checkout then
    records."""
    _tax_rules(desk, inclusive=inclusive)
    t = _ready_ticket(desk, desk.location()["id"])
    make_user("manager", username="mo")
    browser = Browser(app.test_client())
    browser.sign_in("mo")
    page = browser.get(f"/repairs/tickets/{t['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = _OWED_ROW.findall(html)
    assert [(kind, desc.split(" (")[0]) for kind, desc, *_ in rows] == \
        [("part", "Hinge cable"), ("part", "Screw"), ("part", "Fuse"), ("labor", "Labour: Fit the cable")]
    assert [tuple(r[2:]) for r in rows] == OWED[inclusive]
    work = _OWED_WORK.search(html)
    expected = EXPECTED[inclusive]
    assert work is not None and work.groups() == (
        expected["total"], expected["tax"],
        str(Decimal(expected["total"]) + Decimal(expected["tax"])))
    assert 'id="owed-deposit"' in html and "-20.00" in html
    due = _OWED_DUE.search(html)
    assert due is not None and due.group(1) == expected["amount_due"]
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}), 201)
    assert pk["amount_due"] == due.group(1)


# ---------------------------------------------------------------- technician revenue

class UnitLabourCover:
    """Warranty, as far as repairs can tell: a registered unit's labour is covered."""
    manifest = Manifest(name="unit_labour_cover", version="0", title="Unit labour cover")

    @hookimpl
    def resolve_coverage(self, session: Any, item_id: int, on: Any) -> Coverage:
        return Coverage(item_id=item_id, covered=True, coverage="labor", plan="Maker labour cover")


def _revenue(desk: Desk, technician: str) -> tuple[Decimal, Decimal]:
    report = desk.ok(desk.api.get("reports/repairs.technician_performance"))
    keys = [c["key"] for c in report["columns"]]
    row = next(dict(zip(keys, r)) for r in report["rows"] if r[0] == technician)
    return Decimal(str(row["labor_revenue"])), Decimal(str(row["parts_revenue"]))


@pytest.mark.parametrize("at_till", [True, False], ids=["till", "no_till"])
def test_technician_revenue_is_the_work_before_tax(app: Any, app_factory: Any, make_user: Any,
                                                   at_till: bool) -> None:
    """Prices include tax: 60.00 of labour at 20 % adds 50.00 to the technician's
    labour revenue, an 11.00 part at 10 % adds 10.00 to parts revenue, and labour a
    warranty covers adds nothing (revenue is what the customer is charged, before tax)."""
    desk = Desk(ApiClient(app_factory(plugins=(UnitLabourCover(),)).test_client(),
                          make_user("admin")[1]))
    tech_id, _ = make_user("technician", username="tess")
    loc_id, shift_id = _till(desk)
    _tax_rules(desk, inclusive=True)
    laptop = desk.laptop()
    t = desk.intake(technician_id=tech_id,
                    units=[{"product_id": laptop["id"], "serial": "COVERED-1"}])
    mine, covered = t["units"]
    assert (mine["coverage"], covered["coverage"]) == ("", "labor")
    desk.move(t["id"], "diagnosing")
    part = desk.product(name="Hinge cable", kind="part", price="11.00", tax_rate="10")
    desk.stock_in(part["id"], loc_id, 1)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts",
                          json={"product_id": part["id"], "unit_id": mine["id"]}), 201)
    for unit, minutes in ((mine, 60), (covered, 30)):
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor", json={
            "minutes": minutes, "description": "Fix", "unit_id": unit["id"],
            "technician_id": tech_id}), 201)
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"pos_session_id": shift_id} if at_till else {}), 201)
    assert (pk["sale_id"] is not None) is at_till
    assert (pk["total"], pk["tax"]) == ("60.00", "11.00")    # 50.00 + 10.00, 10.00 + 1.00
    assert _revenue(desk, "tess") == (Decimal("50.00"), Decimal("10.00"))


def test_work_beyond_what_an_amount_can_be_is_refused(desk: Desk, runtime: Any) -> None:
    """A part's price and quantity each valid, their product beyond the money columns:
    a 422 on both databases (PostgreSQL overflowed with a 500, SQLite stored it)."""
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    part = desk.product(name="Gold frame", kind="part", price="9999999999.99", tax_rate="0")
    resp = desk.api.post(f"repairs/tickets/{t['id']}/parts",
                         json={"product_id": part["id"], "quantity": 10000})
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["code"] == "amount_too_large"
    assert desk.ticket(t["id"])["parts"] == []
    resp = desk.api.post(f"repairs/tickets/{t['id']}/estimate", json={"amount": "9999999999.99",
                                                                      "tax_rate": "100"})
    assert resp.status_code == 422 and resp.json["error"]["code"] == "amount_too_large"
