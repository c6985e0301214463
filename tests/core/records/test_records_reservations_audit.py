"""Reservations are audited: reserving, releasing and consuming stock each leave one
entry an owner can read at ``GET /audit`` (who, which stock, for what), and a refused
call leaves none — nor anything else half-written."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core import audit
from core.errors import Conflict
from core.models import AuditEntry
from core.records import stock
from tests.conftest import ApiClient
from tests.core.records.conftest import level


@pytest.fixture
def tech(client: Any, make_user: Any) -> tuple[int, ApiClient]:
    """A technician (who may reserve stock but not read the audit log) and their client."""
    user_id, token = make_user("technician", username="tess")
    return user_id, ApiClient(client, token)


@pytest.fixture
def owner(api_as: Any) -> ApiClient:
    return api_as("owner")


@pytest.fixture
def part(make_product: Any, make_location: Any, stock_in: Any) -> tuple[dict, dict]:
    p, loc = make_product(kind="part"), make_location()
    stock_in(p["id"], loc["id"], 3)
    return p, loc


def reservation_entries(owner: ApiClient, reservation_id: Any = None) -> list[dict]:
    query = {"record_type": "reservation", "per_page": 100}
    if reservation_id is not None:
        query["record_id"] = str(reservation_id)
    r = owner.get("audit", query_string=query)
    assert r.status_code == 200, r.json
    return r.json["items"]


def reserve(client: ApiClient, p: dict, loc: dict, quantity: int = 2, **kw: Any) -> Any:
    return client.post("stock/reservations", json={
        "product_id": p["id"], "location_id": loc["id"], "quantity": quantity,
        "reference_type": "repairs.ticket", "reference_id": "T-7", **kw})


def test_reserving_is_audited_with_who_and_what(tech, owner, part):
    (tech_id, client), (p, loc) = tech, part
    r = reserve(client, p, loc, note="brake pads for T-7")
    assert r.status_code == 201, r.json
    [entry] = reservation_entries(owner, r.json["id"])
    assert entry["action"] == "stock.reservation.created"
    assert (entry["actor_id"], entry["actor_name"]) == (tech_id, "tess")
    assert entry["before"] is None
    assert entry["after"] == {"status": "active", "product_id": p["id"], "location_id": loc["id"],
                              "quantity": 2, "reference": "repairs.ticket:T-7",
                              "note": "brake pads for T-7"}
    assert owner.get("audit/verify").json["ok"] is True


def test_releasing_is_audited(tech, owner, part):
    (tech_id, client), (p, loc) = tech, part
    res = reserve(client, p, loc).json
    assert client.post(f"stock/reservations/{res['id']}/release").status_code == 200
    released = [e for e in reservation_entries(owner, res["id"])
                if e["action"] == "stock.reservation.released"]
    assert len(released) == 1
    entry = released[0]
    assert (entry["actor_id"], entry["actor_name"]) == (tech_id, "tess")
    assert entry["before"] == {"status": "active"}
    assert entry["after"] == {"status": "released", "product_id": p["id"], "location_id": loc["id"],
                              "quantity": 2, "reference": "repairs.ticket:T-7"}


def test_consuming_is_audited_with_the_reason_and_ledger_rows(tech, owner, part):
    (tech_id, client), (p, loc) = tech, part
    res = reserve(client, p, loc).json
    r = client.post(f"stock/reservations/{res['id']}/consume", json={"reason": "fitted"})
    assert r.status_code == 200, r.json
    [entry] = [e for e in reservation_entries(owner, res["id"])
               if e["action"] == "stock.reservation.consumed"]
    assert (entry["actor_id"], entry["actor_name"], entry["reason"]) == (tech_id, "tess", "fitted")
    assert entry["before"] == {"status": "active"}
    move = owner.get("stock/moves", query_string={"product_id": p["id"]}).json["items"][0]
    assert move["kind"] == "consumed"
    assert entry["after"] == {"status": "consumed", "product_id": p["id"], "location_id": loc["id"],
                              "quantity": 2, "reference": "repairs.ticket:T-7", "serials": None,
                              "reason": "fitted", "moves": [move["id"]]}


def test_consuming_units_names_their_serials(tech, owner, make_product, make_location, stock_in):
    _tech_id, client = tech
    bike, loc = make_product(serialized=True), make_location()
    stock_in(bike["id"], loc["id"], 2, serials=["WTU1", "WTU2"])
    res = reserve(client, bike, loc, quantity=1, reference_type="layaway", reference_id="L-1").json
    r = client.post(f"stock/reservations/{res['id']}/consume", json={"serials": ["wtu 2"]})
    assert r.status_code == 200, r.json
    [entry] = [e for e in reservation_entries(owner, res["id"])
               if e["action"] == "stock.reservation.consumed"]
    assert entry["after"]["serials"] == ["WTU2"]     # the unit as recorded, not as typed
    assert entry["after"]["reason"] == entry["reason"] == "used by layaway:L-1"
    assert len(entry["after"]["moves"]) == 1


def test_a_refused_reservation_leaves_no_entry(tech, owner, part):
    (_tech_id, client), (p, loc) = tech, part
    r = reserve(client, p, loc, quantity=4)
    assert r.status_code == 409 and r.json["error"]["code"] == "insufficient_stock"
    assert reserve(client, p, loc, quantity=0).status_code == 422
    assert reservation_entries(owner) == []
    assert level(owner, p["id"], loc["id"])["reserved"] == 0


def test_closed_reservations_refuse_and_leave_no_entry(tech, owner, part):
    (_tech_id, client), (p, loc) = tech, part
    res = reserve(client, p, loc).json
    assert client.post(f"stock/reservations/{res['id']}/release").status_code == 200
    before = reservation_entries(owner)
    for verb, body in (("release", None), ("consume", {})):
        r = client.post(f"stock/reservations/{res['id']}/{verb}", json=body)
        assert r.status_code == 409 and r.json["error"]["code"] == "reservation_closed"
    assert client.post("stock/reservations/99999/release").status_code == 404
    assert reservation_entries(owner) == before
    assert [e["action"] for e in before] == ["stock.reservation.released",
                                            "stock.reservation.created"]


@pytest.mark.parametrize("serials,status", [
    (["NOPE"], 409),                 # not a unit of this product
    (["WTU3"], 409),                # in stock, but elsewhere
    (["WTU1", "wtu 1"], 422),       # the same unit twice
    ([], 422),                       # a serialized product is consumed by serial
])
def test_a_refused_consume_writes_nothing(tech, owner, make_product, make_location, stock_in,
                                          runtime, serials, status):
    """A consume refused on its units changes no level, unit, ledger row or reservation,
    and notes no audit entry."""
    _tech_id, client = tech
    bike, here, there = make_product(serialized=True), make_location(), make_location()
    stock_in(bike["id"], here["id"], 2, serials=["WTU1", "WTU2"])
    stock_in(bike["id"], there["id"], 1, serials=["WTU3"])
    res = reserve(client, bike, here, quantity=len(serials) or 1).json
    moves = owner.get("stock/moves", query_string={"product_id": bike["id"]}).json["total"]
    r = client.post(f"stock/reservations/{res['id']}/consume", json={"serials": serials})
    assert r.status_code == status, r.json
    assert [e["action"] for e in reservation_entries(owner, res["id"])] == [
        "stock.reservation.created"]
    assert owner.get("stock/moves", query_string={"product_id": bike["id"]}).json["total"] == moves
    assert level(owner, bike["id"], here["id"])["reserved"] == res["quantity"]
    listed = owner.get("stock/reservations", query_string={"reference_id": "T-7"}).json["items"]
    assert [x["status"] for x in listed] == ["active"]
    units = owner.get("items", query_string={"product_id": bike["id"]}).json["items"]
    assert {u["status"] for u in units} == {"in_stock"}
    with runtime.unit_of_work(write=False) as s:
        assert stock.verify_levels(s) == []


def test_a_caller_that_recovers_from_a_refusal_commits_no_entry(runtime, make_product,
                                                                 make_location, stock_in):
    """Like the service desk marking a short part ``to_order``: the refused reservation
    is caught in a savepoint and the unit of work commits — with the successful
    reservation's entry (by the system, no actor) and nothing for the refused one."""
    p, loc = make_product(kind="part"), make_location()
    stock_in(p["id"], loc["id"], 1)
    with runtime.unit_of_work() as s:
        kept = stock.reserve_stock(s, None, product_id=p["id"], location_id=loc["id"],
                                   quantity=1, reference_type="t", reference_id="A")
        with pytest.raises(Conflict):
            with s.begin_nested():
                stock.reserve_stock(s, None, product_id=p["id"], location_id=loc["id"],
                                    quantity=1, reference_type="t", reference_id="B")
        kept_id = kept.id
    with runtime.unit_of_work(write=False) as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.record_type == "reservation")).all()
        assert [(e.action, e.record_id, e.actor_name) for e in entries] == [
            ("stock.reservation.created", str(kept_id), "system")]
        assert audit.verify(s)["ok"] is True


def test_a_consume_refused_on_its_units_changes_nothing_even_when_caught(
        runtime, make_product, make_location, stock_in):
    """The units are checked before the level moves: a caller that catches the refusal
    (no savepoint) and commits leaves the reservation active and the levels true."""
    bike, loc = make_product(serialized=True), make_location()
    stock_in(bike["id"], loc["id"], 1, serials=["WTU1"])
    with runtime.unit_of_work() as s:
        res_id = stock.reserve_stock(s, None, product_id=bike["id"], location_id=loc["id"],
                                     quantity=1, reference_type="t", reference_id="A").id
    with runtime.unit_of_work() as s:
        with pytest.raises(Conflict):
            stock.consume_reservation(s, None, res_id, serials=["NOPE"])
    with runtime.unit_of_work(write=False) as s:
        assert s.get(stock.Reservation, res_id).status == "active"
        assert stock.verify_levels(s) == []
        assert s.scalars(select(AuditEntry.action).where(
            AuditEntry.record_type == "reservation")).all() == ["stock.reservation.created"]


def test_serials_for_a_product_without_serials_are_refused(tech, owner, make_product,
                                                           make_location, stock_in):
    """Serials given for a part that has none are a mistake at the counter (the wrong
    reservation, the wrong product): refused like a stock move with serials, not ignored."""
    _tech_id, client = tech
    part, here = make_product(kind="part"), make_location()
    stock_in(part["id"], here["id"], 3)
    res = reserve(client, part, here, quantity=2).json
    r = client.post(f"stock/reservations/{res['id']}/consume", json={"serials": ["X1", "X2"]})
    assert r.status_code == 422 and r.json["error"]["fields"]["serials"], r.json
    assert level(owner, part["id"], here["id"])["reserved"] == 2
    assert client.post(f"stock/reservations/{res['id']}/consume", json={}).status_code == 200
    assert level(owner, part["id"], here["id"])["on_hand"] == 1
