"""Stock: the ledger's arithmetic, transfers by serial, reservations that never promise
the same stock twice (also under real concurrency), audit and permissions."""
import threading
import time

import pytest
from sqlalchemy import text

from core.errors import Conflict
from core.records import stock
from tests.core.records.conftest import level


def test_ledger_math_on_hand_reserved_available(api, make_product, make_location, stock_in):
    p, store, wh = make_product(kind="part"), make_location("Store"), make_location("WH", "warehouse")
    stock_in(p["id"], store["id"], 10)
    stock_in(p["id"], wh["id"], 5)
    r = api.post("stock/moves", json={"product_id": p["id"], "from_location_id": store["id"],
                                      "quantity": 2, "reason": "damaged"})
    assert r.status_code == 201 and r.json["moves"][0]["kind"] == "adjustment"
    r = api.post("stock/moves", json={"product_id": p["id"], "from_location_id": wh["id"],
                                      "to_location_id": store["id"], "quantity": 3, "reason": "restock"})
    assert r.status_code == 201 and r.json["moves"][0]["kind"] == "transfer"
    res = api.post("stock/reservations", json={"product_id": p["id"], "location_id": store["id"],
                                               "quantity": 4, "reference_type": "layaway",
                                               "reference_id": "L-1"})
    assert res.status_code == 201, res.json
    assert level(api, p["id"], store["id"]) == {"product_id": p["id"], "location_id": store["id"],
                                                "on_hand": 11, "reserved": 4, "available": 7}
    assert level(api, p["id"], wh["id"])["on_hand"] == 2
    # taking away more than is available (reserved stock included) is refused
    r = api.post("stock/moves", json={"product_id": p["id"], "from_location_id": store["id"],
                                      "quantity": 8, "reason": "oops"})
    assert r.status_code == 409 and r.json["error"]["code"] == "insufficient_stock"
    # consuming takes it out of on hand and reserved together; releasing frees it
    r = api.post(f"stock/reservations/{res.json['id']}/consume", json={})
    assert r.status_code == 200 and r.json["status"] == "consumed"
    assert level(api, p["id"], store["id"])["on_hand"] == 7
    assert level(api, p["id"], store["id"])["reserved"] == 0
    assert api.post(f"stock/reservations/{res.json['id']}/release").status_code == 409
    with api.client.application.extensions["counterdesk"].unit_of_work(write=False) as s:
        assert stock.verify_levels(s) == []
        assert stock.ledger_on_hand(s, p["id"], store["id"]) == 7


def test_adjustments_are_audited_and_need_a_reason(api, make_product, make_location):
    p, loc = make_product(), make_location()
    r = api.post("stock/moves", json={"product_id": p["id"], "to_location_id": loc["id"],
                                      "quantity": 3, "reason": ""})
    assert r.status_code == 422
    r = api.post("stock/moves", json={"product_id": p["id"], "to_location_id": loc["id"],
                                      "quantity": 3, "reason": "count"})
    entry = api.get("audit", query_string={"action": "stock.adjusted"}).json["items"][0]
    assert entry["reason"] == "count" and entry["after"]["quantity"] == 3
    assert entry["after"]["moves"] == [r.json["moves"][0]["id"]]


@pytest.mark.parametrize("body,status", [
    ({"quantity": 1, "reason": "x"}, 422),                              # no location
    ({"quantity": 0, "reason": "x", "to_location_id": "L"}, 422),
    ({"quantity": 1, "reason": "x", "to_location_id": 99999}, 422),
    ({"quantity": 1, "reason": "x", "from_location_id": "L", "to_location_id": "L"}, 422),
    ({"quantity": 1, "reason": "x", "to_location_id": "L", "serials": ["A"]}, 422),
    ({"quantity": 1, "reason": "x", "from_location_id": "L"}, 409),     # nothing on hand
])
def test_bad_moves(api, make_product, make_location, body, status):
    p, loc = make_product(), make_location()
    body = {k: (loc["id"] if v == "L" else v) for k, v in body.items()}
    r = api.post("stock/moves", json={"product_id": p["id"], **body})
    assert r.status_code == status, r.json
    assert api.get("stock/moves").json["total"] == 0


def test_service_products_have_no_stock(api, make_product, make_location):
    p, loc = make_product(kind="service"), make_location()
    r = api.post("stock/moves", json={"product_id": p["id"], "to_location_id": loc["id"],
                                      "quantity": 1, "reason": "x"})
    assert r.status_code == 422


def test_transfer_by_serial(api, make_product, make_location, stock_in):
    bike, store, van = make_product(serialized=True), make_location("Store"), make_location("Van", "van")
    stock_in(bike["id"], store["id"], 3, serials=["A1", "A2", "A3"])
    assert api.get("items", query_string={"product_id": bike["id"]}).json["total"] == 3
    body = {"product_id": bike["id"], "from_location_id": store["id"], "to_location_id": van["id"],
            "reason": "delivery"}
    # count must equal quantity
    r = api.post("stock/moves", json={**body, "quantity": 2, "serials": ["a1"]})
    assert r.status_code == 422
    # without serials
    assert api.post("stock/moves", json={**body, "quantity": 1}).status_code == 422
    r = api.post("stock/moves", json={**body, "quantity": 2, "serials": ["a1", " a 2"]})
    assert r.status_code == 201, r.json
    assert len(r.json["moves"]) == 2 and all(m["item_id"] for m in r.json["moves"])
    assert level(api, bike["id"], store["id"])["on_hand"] == 1
    assert level(api, bike["id"], van["id"])["on_hand"] == 2
    units = {u["serial"]: u for u in api.get("items", query_string={"product_id": bike["id"]}).json["items"]}
    assert units["A1"]["location_id"] == van["id"] and units["A3"]["location_id"] == store["id"]
    # a unit that is not at the from location cannot move from there
    r = api.post("stock/moves", json={**body, "quantity": 1, "serials": ["A1"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "unit_not_here"
    r = api.post("stock/moves", json={**body, "quantity": 1, "serials": ["NOPE"]})
    assert r.status_code == 409
    # adding a unit that is already in stock is refused
    r = api.post("stock/moves", json={"product_id": bike["id"], "to_location_id": store["id"],
                                      "quantity": 1, "reason": "x", "serials": ["A3"]})
    assert r.status_code == 409
    # writing a unit off scraps it
    r = api.post("stock/moves", json={"product_id": bike["id"], "from_location_id": store["id"],
                                      "quantity": 1, "reason": "stolen", "serials": ["A3"]})
    assert r.status_code == 201
    assert api.get(f"items/{units['A3']['id']}").json["status"] == "scrapped"
    with api.client.application.extensions["counterdesk"].unit_of_work(write=False) as s:
        assert stock.verify_levels(s) == []


def test_reservation_conflict_and_release(api, make_product, make_location, stock_in):
    p, loc = make_product(kind="part"), make_location()
    stock_in(p["id"], loc["id"], 2)
    body = {"product_id": p["id"], "location_id": loc["id"], "reference_type": "repairs.ticket"}
    a = api.post("stock/reservations", json={**body, "quantity": 2, "reference_id": "1"})
    assert a.status_code == 201
    b = api.post("stock/reservations", json={**body, "quantity": 1, "reference_id": "2"})
    assert b.status_code == 409 and b.json["error"]["fields"]["available"] == 0
    assert api.post(f"stock/reservations/{a.json['id']}/release").json["status"] == "released"
    assert api.post("stock/reservations", json={**body, "quantity": 1, "reference_id": "2"}).status_code == 201
    assert api.post("stock/reservations/99999/release").status_code == 404
    listed = api.get("stock/reservations", query_string={"reference_id": "2"}).json
    assert listed["total"] == 1 and listed["items"][0]["status"] == "active"


def test_ledger_is_append_only(api, make_product, make_location, stock_in, runtime):
    p, loc = make_product(), make_location()
    stock_in(p["id"], loc["id"], 1)
    with pytest.raises(Exception, match="append-only"):
        with runtime.unit_of_work() as s:
            s.execute(text("UPDATE stock_moves SET quantity = 5"))


def test_stock_permissions(api, api_as, make_product, make_location):
    p, loc = make_product(), make_location()
    body = {"product_id": p["id"], "to_location_id": loc["id"], "quantity": 1, "reason": "x"}
    assert api_as("cashier").post("stock/moves", json=body).status_code == 403
    assert api_as("technician").get("stock").status_code == 200
    assert api_as("manager").post("stock/moves", json=body).status_code == 201
    assert api_as("cashier").post("locations", json={"name": "Z"}).status_code == 403


def test_concurrent_http_reservations_of_the_last_unit(api, make_product, make_location,
                                                       stock_in, backend):
    """Real concurrent clients: each round has one unit left and two clients reserve it
    at the same moment — exactly one gets 201, the other 409."""
    app = api.client.application
    loc = make_location()
    for round_no in range(5):
        p = make_product(kind="part")
        stock_in(p["id"], loc["id"], 1)
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def reserve(ref: str) -> None:
            from tests.conftest import ApiClient
            client = ApiClient(app.test_client(), api.token)
            barrier.wait()
            r = client.post("stock/reservations", json={
                "product_id": p["id"], "location_id": loc["id"], "quantity": 1,
                "reference_type": "layaway", "reference_id": ref})
            statuses.append(r.status_code)

        threads = [threading.Thread(target=reserve, args=(f"{round_no}-{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(statuses) == [201, 409], (round_no, statuses)
        assert level(api, p["id"], loc["id"])["reserved"] == 1


def test_concurrent_service_reservation_waits_then_loses(api, make_product, make_location,
                                                         stock_in, runtime):
    """A holds the last unit in an open transaction; B, starting meanwhile, waits for
    A's commit and then gets a Conflict — it never sees the stale level."""
    p, loc = make_product(kind="part"), make_location()
    stock_in(p["id"], loc["id"], 1)
    reserved = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with runtime.unit_of_work() as s:
            stock.reserve_stock(s, None, product_id=p["id"], location_id=loc["id"], quantity=1,
                                reference_type="t", reference_id="A")
            reserved.set()
            time.sleep(0.5)
        outcome["a"] = "ok"

    def second() -> None:
        reserved.wait(10)
        started = time.monotonic()
        try:
            with runtime.unit_of_work() as s:
                stock.reserve_stock(s, None, product_id=p["id"], location_id=loc["id"],
                                    quantity=1, reference_type="t", reference_id="B")
            outcome["b"] = "ok"
        except Conflict:
            outcome["b"] = "conflict"
        outcome["waited"] = time.monotonic() - started

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome["a"] == "ok" and outcome["b"] == "conflict"
    assert outcome["waited"] >= 0.3
