"""Two registers ring up the same serial in the same instant: exactly one sale
completes, the other gets 409 — real concurrent clients (threads, each with its own
test client and database connection, released together by a barrier), on SQLite
and PostgreSQL."""
from __future__ import annotations

import threading
from typing import Any, Callable

from tests.plugins.pos.conftest import Shop, bike_sale


def race(app: Any, token: str, bodies: list[dict], key: str | None = None) -> list[Any]:
    barrier = threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)
    headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}

    def run(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        resp = client.post("/api/v1/pos/sales", json=bodies[i], headers=headers)
        results[i] = (resp.status_code, resp.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _assert_sales_and_ledger(app: Any, token: str, sales_total: int) -> None:
    """The till lists ``sales_total`` sales, and stock levels agree with the ledger."""
    from core.records.stock import verify_levels
    client = app.test_client()
    sales = client.get("/api/v1/pos/sales", headers={"Authorization": f"Bearer {token}"}).json
    assert sales["total"] == sales_total
    rt = app.extensions["counterdesk"]
    with rt.unit_of_work(write=False) as s:
        assert verify_levels(s) == []


def test_the_same_serial_at_two_registers_sells_once(app: Any, shop: Shop,
                                                     make_user: Callable[..., Any]) -> None:
    _uid, token = make_user("cashier")
    for serial in shop.bike_serials:
        results = race(app, token, [bike_sale(shop, serial=serial),
                                    bike_sale(shop, serial=serial, session_id=shop.session2_id)])
        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409], results
        loser = next(body for status, body in results if status == 409)
        assert loser["error"]["code"] == "serial_not_sellable"
    _assert_sales_and_ledger(app, token, 3)


def test_concurrent_sales_get_distinct_numbers(app: Any, shop: Shop,
                                               make_user: Callable[..., Any]) -> None:
    _uid, token = make_user("cashier")
    body = {"session_id": shop.session_id, "lines": [{"code": "LIGHT"}, {"code": "HELMET"}],
            "payments": [{"method": "card", "amount": "78.05"}]}
    results = race(app, token, [dict(body, session_id=s) for s in
                                [shop.session_id, shop.session2_id] * 4])
    assert [status for status, _ in results] == [201] * 8, results
    numbers = {b["number"] for _, b in results}
    assert len(numbers) == 8


def test_a_sale_sent_twice_at_once_with_one_key_sells_once(app: Any, shop: Shop,
                                                          make_user: Callable[..., Any]) -> None:
    """A till that resends a sale while the first copy is still in flight: both copies
    answer with the one sale, the bike is sold once (the copy that lost found the unit
    sold, rolled back and replayed the first answer)."""
    _uid, token = make_user("cashier")
    serial = shop.bike_serials[0]
    results = race(app, token, [bike_sale(shop, serial=serial)] * 4, key="till-1-sale-77")
    assert [status for status, _ in results] == [201] * 4, results
    assert len({body["id"] for _, body in results}) == 1
    _assert_sales_and_ledger(app, token, 1)
