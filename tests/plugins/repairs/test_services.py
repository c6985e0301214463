"""The service desk's rules, driven through the API on SQLite and PostgreSQL:
intake, numbering, the workflow table, estimates and re-approval, parts
reservations, labour, pickup (one unit at a time), comebacks, search and history."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from plugins.repairs.services import TRANSITIONS


# ------------------------------------------------------------------ intake

def test_intake_registers_a_customer_owned_laptop(desk: Any) -> None:
    c = desk.customer("Ada Lovelace", "555 123 4567")
    laptop = desk.laptop()
    t = desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial=" pf-2k 91x ",
                    problem="Screen flickers when the lid moves", instructions="Check the hinge cable",
                    rush=True, priority=2, accessories="charger, sleeve", condition="scratch on lid",
                    promised_for="2026-12-01", estimate="150.00",
                    deposit={"amount": "40.00", "method": "card", "reference": "TX-881"})
    assert t["status"] == "received" and t["number"] == f"R-{t['id']:06d}"
    assert t["status_url"].startswith(f"/repairs/status/{t['number']}?t=")
    assert t["deposit"] == "40.00" and t["deposit_reference"] == "TX-881"
    assert t["estimates"][0]["status"] == "approved" and t["estimates"][0]["decided_via"] == "drop_off"
    unit = t["units"][0]
    item = desk.ok(desk.api.get(f"items/{unit['item_id']}"))
    assert item["status"] == "customer_owned" and item["owner_id"] == c["id"]
    assert item["serial"] == "pf-2k 91x"
    # the unit's history shows the ticket; so does the customer's timeline
    hist = desk.ok(desk.api.get(f"items/{unit['item_id']}/history"))
    assert any(e["type"] == "repair_ticket" for e in hist["items"] if isinstance(hist, dict)) \
        if isinstance(hist, dict) else any(e["type"] == "repair_ticket" for e in hist)
    tl = desk.ok(desk.api.get(f"customers/{c['id']}/timeline"))
    entries = tl["items"] if isinstance(tl, dict) else tl
    assert any(e["type"] == "repair_ticket" for e in entries)


def test_intake_with_several_units_and_an_existing_item(desk: Any) -> None:
    c = desk.customer()
    laptop = desk.laptop()
    first = desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial="AAA1")
    item_id = first["units"][0]["item_id"]
    desk.move(first["id"], "cancelled")
    t = desk.intake(c["id"], item_description=None, item_id=item_id,
                    units=[{"item_description": "Power brick"}, {"product_id": laptop["id"],
                                                                 "serial": "BBB2"}])
    assert [u["description"] for u in t["units"]] == [laptop["name"], "Power brick", laptop["name"]]
    assert t["units"][0]["item_id"] == item_id


def test_intake_refuses_bad_input(desk: Any) -> None:
    c = desk.customer()
    laptop = desk.laptop()
    api = desk.api
    assert api.post("repairs/tickets", json={"customer_id": c["id"], "problem": "x"}).status_code == 422
    assert api.post("repairs/tickets", json={"customer_id": 999999, "problem": "x",
                                             "item_description": "y"}).status_code == 422
    assert api.post("repairs/tickets", json={"customer_id": c["id"], "problem": "  ",
                                             "item_description": "y"}).status_code == 422
    assert api.post("repairs/tickets", json={"customer_id": c["id"], "problem": "x",
                                             "product_id": laptop["id"]}).status_code == 422
    r = api.post("repairs/tickets", json={"customer_id": c["id"], "problem": "x",
                                          "deposit": {"amount": "1.234"}, "item_description": "y"})
    assert r.status_code == 422 and "deposit" in r.json["error"]["fields"]
    # a unit in the shop's own stock is not a customer's
    loc = desk.location()
    desk.ok(api.post("stock/moves", json={"product_id": laptop["id"], "to_location_id": loc["id"],
                                          "quantity": 1, "reason": "in", "serials": ["STOCK1"]}), 201)
    r = api.post("repairs/tickets", json={"customer_id": c["id"], "problem": "x",
                                          "product_id": laptop["id"], "serial": "stock1"})
    assert r.status_code == 409 and r.json["error"]["code"] == "unit_in_stock"


def test_a_unit_cannot_be_in_two_open_tickets(desk: Any) -> None:
    c = desk.customer()
    laptop = desk.laptop()
    desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial="DUP1")
    r = desk.api.post("repairs/tickets", json={"customer_id": c["id"], "problem": "again",
                                               "product_id": laptop["id"], "serial": "DUP1"})
    assert r.status_code == 409 and r.json["error"]["code"] == "unit_already_in_service"


def test_numbers_are_unique_under_concurrency(desk: Any, app: Any, make_user: Any) -> None:
    from tests.conftest import ApiClient
    c = desk.customer()
    token = make_user("cashier")[1]

    def one(i: int) -> str:
        client = ApiClient(app.test_client(), token)
        r = client.post("repairs/tickets", json={"customer_id": c["id"], "problem": f"p{i}",
                                                 "item_description": f"unit {i}"})
        assert r.status_code == 201, r.json
        return r.json["number"]

    with ThreadPoolExecutor(6) as pool:
        numbers = list(pool.map(one, range(12)))
    assert len(set(numbers)) == 12


def test_idempotent_intake(desk: Any) -> None:
    c = desk.customer()
    body = {"customer_id": c["id"], "problem": "x", "item_description": "y",
            "deposit": {"amount": "10.00", "method": "cash"}}
    r1 = desk.api.post("repairs/tickets", json=body, headers={"Idempotency-Key": "k-1"})
    r2 = desk.api.post("repairs/tickets", json=body, headers={"Idempotency-Key": "k-1"})
    assert r1.status_code == r2.status_code == 201 and r1.json["id"] == r2.json["id"]


# ------------------------------------------------------------------ workflow

def test_the_workflow_table_is_closed_and_explicit() -> None:
    from plugins.repairs.models import STATUSES
    assert set(TRANSITIONS) == set(STATUSES)
    assert TRANSITIONS["collected"] == TRANSITIONS["cancelled"] == frozenset()
    for src, targets in TRANSITIONS.items():
        assert src not in targets and targets <= set(STATUSES)


@pytest.mark.parametrize("path,ok", [
    (["diagnosing", "in_repair", "ready"], True),
    (["ready"], False),                         # received → ready: not without work
    (["diagnosing", "collected"], False),       # collected only through checkout
    (["cancelled", "received"], False),         # cancelled is final
    (["diagnosing", "awaiting_parts"], True),
])
def test_impossible_moves_are_409(desk: Any, path: list[str], ok: bool) -> None:
    t = desk.intake()
    last = None
    for to in path:
        last = desk.api.post(f"repairs/tickets/{t['id']}/transitions", json={"to": to})
        if last.status_code != 200:
            break
    assert (last.status_code == 200) == ok
    if not ok:
        assert last.status_code == 409
        assert last.json["error"]["code"] in ("impossible_transition", "use_checkout")


def test_on_hold_needs_a_reason_and_every_move_is_stamped(desk: Any, admin_id: int) -> None:
    t = desk.intake()
    r = desk.api.post(f"repairs/tickets/{t['id']}/transitions", json={"to": "on_hold"})
    assert r.status_code == 422
    t = desk.move(t["id"], "on_hold", reason="escalated", note="needs a senior look")
    assert t["status"] == "on_hold" and t["hold_reason"] == "escalated"
    t = desk.move(t["id"], "diagnosing")
    assert t["hold_reason"] is None
    from tests.plugins.repairs.helpers import status_changes
    rows = status_changes(desk, t["id"])
    assert [(r.from_status, r.to_status) for r in rows] == [
        (None, "received"), ("received", "on_hold"), ("on_hold", "diagnosing")]
    assert all(r.actor_id == admin_id and r.at is not None for r in rows)
    assert rows[1].reason == "escalated"


def test_assignment_and_technician_queue_order(desk: Any, make_user: Any) -> None:
    tech, _ = make_user("technician")
    c = desk.customer()
    plain = desk.intake(c["id"], promised_for="2026-12-10")
    rush = desk.intake(c["id"], rush=True, promised_for="2026-12-20")
    soon = desk.intake(c["id"], promised_for="2026-12-05")
    undated = desk.intake(c["id"])
    for t in (plain, rush, soon, undated):
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/assign", json={"technician_id": tech}))
    queue = desk.ok(desk.api.get(f"repairs/queue?technician_id={tech}"))
    assert [q["id"] for q in queue] == [rush["id"], soon["id"], plain["id"], undated["id"]]
    assert desk.ok(desk.api.get(f"repairs/tickets?technician_id={tech}"))["total"] == 4
    r = desk.api.post(f"repairs/tickets/{plain['id']}/assign", json={"technician_id": 424242})
    assert r.status_code == 422


# ------------------------------------------------------------------ parts and labour

def _stocked_part(desk: Any, quantity: int = 2, price: str = "25.00") -> tuple[dict, dict]:
    loc = desk.location()
    part = desk.product(name="Hinge cable", kind="part", price=price)
    desk.stock_in(part["id"], loc["id"], quantity)
    return part, loc


def test_parts_reserve_release_and_short_stock(desk: Any) -> None:
    part, loc = _stocked_part(desk, quantity=2)
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    p1 = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts",
                               json={"product_id": part["id"], "quantity": 2}), 201)
    assert p1["status"] == "reserved" and p1["reservation_id"]
    assert desk.level(part["id"], loc["id"])["reserved"] == 2
    # none left: the next one is to_order
    p2 = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts",
                               json={"product_id": part["id"], "quantity": 1}), 201)
    assert p2["status"] == "to_order" and p2["reservation_id"] is None
    assert desk.level(part["id"], loc["id"])["reserved"] == 2
    # removing a reserved part gives the stock back
    desk.ok(desk.api.delete(f"repairs/tickets/{t['id']}/parts/{p1['id']}"))
    assert desk.level(part["id"], loc["id"])["reserved"] == 0
    assert desk.api.delete(f"repairs/tickets/{t['id']}/parts/{p1['id']}").status_code == 409
    assert desk.api.delete(f"repairs/tickets/{t['id']}/parts/999999").status_code == 404


def test_cancelling_releases_every_reservation(desk: Any) -> None:
    part, loc = _stocked_part(desk, quantity=3)
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    for _ in range(2):
        desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts",
                              json={"product_id": part["id"]}), 201)
    assert desk.level(part["id"], loc["id"])["reserved"] == 2
    t = desk.move(t["id"], "cancelled")
    assert desk.level(part["id"], loc["id"])["reserved"] == 0
    assert {p["status"] for p in t["parts"]} == {"released"}


def test_labour_uses_the_rate_setting(desk: Any) -> None:
    desk.ok(desk.api.put("settings/repairs", json={"values": {"labour_rate": "90.00"}}))
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    lab = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                                json={"minutes": 50, "description": "Diagnosis"}), 201)
    assert lab["rate"] == "90.00" and lab["amount"] == "75.00"
    r = desk.api.post(f"repairs/tickets/{t['id']}/labor", json={"minutes": 0, "description": "x"})
    assert r.status_code == 422


# ------------------------------------------------------------------ estimates

def test_estimate_approval_by_staff_and_re_approval_over_the_limit(desk: Any) -> None:
    part, _loc = _stocked_part(desk, quantity=5, price="40.00")
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": part["id"]}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 60, "description": "Replace cable"}), 201)
    est = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json={}), 201)
    assert est["amount"] == "100.00" and est["parts_amount"] == "40.00"
    assert desk.ticket(t["id"])["status"] == "awaiting_approval"
    # moving on without the answer is refused
    r = desk.api.post(f"repairs/tickets/{t['id']}/transitions", json={"to": "in_repair"})
    assert r.status_code == 409 and r.json["error"]["code"] == "approval_pending"
    ok = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/approval",
                               json={"approved": True, "via": "phone", "note": "said yes"}))
    assert ok["status"] == "approved" and ok["decided_via"] == "phone"
    assert desk.ticket(t["id"])["status"] == "in_repair"
    # within the approved amount: nothing asked
    assert desk.api.post(f"repairs/tickets/{t['id']}/approval",
                         json={"approved": True, "via": "phone"}).status_code == 409
    # beyond it: approval again
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": part["id"]}), 201)
    t2 = desk.ticket(t["id"])
    assert t2["status"] == "awaiting_approval"
    assert t2["estimates"][-1]["status"] == "pending" and t2["estimates"][-1]["amount"] == "140.00"
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/approval",
                          json={"approved": False, "via": "in_person"}))
    t3 = desk.ticket(t["id"])
    assert t3["status"] == "on_hold" and t3["hold_reason"] == "customer_decision"


# ------------------------------------------------------------------ pickup

def test_checkout_without_pos_records_payment_and_consumes_parts(desk: Any) -> None:
    part, loc = _stocked_part(desk, quantity=2, price="30.00")
    t = desk.intake(deposit={"amount": "20.00", "method": "cash"})
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/parts", json={"product_id": part["id"]}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 30, "description": "Fit"}), 201)
    desk.move(t["id"], "in_repair")
    assert desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}).status_code == 409
    desk.move(t["id"], "ready")
    charges = desk.ok(desk.api.get(f"repairs/tickets/{t['id']}/charges"))
    assert [ln["kind"] for ln in charges["lines"]] == ["part", "labor"]
    assert charges["deposit"] == "20.00"
    r = desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={"payment_method": "card"})
    assert r.status_code == 422          # a card payment needs its reference
    pk = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                               json={"payment_method": "card", "payment_reference": "AUTH-1"}), 201)
    assert (pk["total"], pk["deposit_applied"], pk["amount_due"]) == ("60.00", "20.00", "40.00")
    assert pk["ticket_status"] == "collected" and pk["sale_id"] is None
    lvl = desk.level(part["id"], loc["id"])
    assert (lvl["on_hand"], lvl["reserved"]) == (1, 0)
    t = desk.ticket(t["id"])
    assert t["status"] == "collected" and t["parts"][0]["status"] == "consumed"
    assert desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}).status_code == 409


def test_units_are_released_one_at_a_time(desk: Any) -> None:
    t = desk.intake(units=[{"item_description": "Second speaker"}], deposit={"amount": "50.00"})
    u1, u2 = (u["id"] for u in t["units"])
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 60, "description": "Fix unit 1", "unit_id": u1}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 120, "description": "Fix unit 2", "unit_id": u2}), 201)
    desk.move(t["id"], "in_repair")
    desk.move(t["id"], "ready")
    first = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                                  json={"unit_ids": [u1]}), 201)
    assert (first["total"], first["deposit_applied"], first["amount_due"]) == ("60.00", "50.00", "10.00")
    assert first["ticket_status"] == "ready"
    assert desk.api.post(f"repairs/tickets/{t['id']}/checkout",
                         json={"unit_ids": [u1]}).status_code == 422
    second = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}), 201)
    assert (second["total"], second["deposit_applied"], second["amount_due"]) == ("120.00", "0.00", "120.00")
    assert second["ticket_status"] == "collected"


def test_a_comeback_links_to_the_last_repair(desk: Any) -> None:
    c = desk.customer()
    laptop = desk.laptop()
    t = desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial="CB-1")
    desk.move(t["id"], "diagnosing")
    desk.move(t["id"], "ready")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}), 201)
    again = desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial="cb-1")
    assert again["comeback_of_id"] == t["id"]
    # outside the window: not a comeback
    desk.ok(desk.api.put("settings/repairs", json={"values": {"comeback_days": 0}}))
    desk.move(again["id"], "cancelled")
    third = desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial="CB-1")
    assert third["comeback_of_id"] is None


# ------------------------------------------------------------------ search

def test_search_by_number_name_phone_serial_product_and_problem(desk: Any) -> None:
    c = desk.customer("Grace Hopper", "(555) 777-0101")
    other = desk.customer("Alan Turing", "555 888 0202")
    laptop = desk.laptop()
    t = desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial="ZX-991",
                    problem="Keyboard spills coffee smell")
    desk.intake(other["id"], problem="Battery swells")

    def ids(q: str) -> list[int]:
        return [x["id"] for x in desk.ok(desk.api.get("repairs/tickets", query_string={"q": q}))["items"]]

    assert ids(t["number"]) == [t["id"]]
    assert ids(str(t["id"])) == [t["id"]]
    assert ids("grace") == [t["id"]]
    assert ids("Hopp") == [t["id"]]
    assert ids("555-777-0101") == [t["id"]]
    assert ids(" zx-991 ") == [t["id"]]
    assert ids("thinkbook") == [t["id"]]
    assert ids("coffee") == [t["id"]]
    assert ids("no-such-thing-here") == []
    res = desk.ok(desk.api.get("search", query_string={"q": t["number"]}))["results"]
    hit = [r for r in res if r["type"] == "ticket"]
    assert hit and hit[0]["id"] == t["id"] and hit[0].get("exact", True)


def test_customer_merge_repoints_tickets(desk: Any) -> None:
    a = desk.customer("Merge Keep", "555 000 1111")
    b = desk.customer("Merge Gone", "555 000 2222")
    t = desk.intake(b["id"])
    r = desk.api.post(f"customers/{a['id']}/merge", json={"from_id": b["id"]})
    if r.status_code == 404:
        pytest.skip("no merge endpoint")
    assert r.status_code in (200, 201), r.json
    assert desk.ticket(t["id"])["customer_id"] == a["id"]
