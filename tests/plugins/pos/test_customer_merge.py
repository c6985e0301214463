"""Merging customers (``customer_merged``): the merged customer's sales and returns
move to the survivor in the merge's unit of work, on SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core import Invalid, Manifest, hookimpl

from tests.plugins.pos.conftest import Shop, bike_sale


def _helmet_sale(shop: Shop, customer_id: int) -> dict[str, Any]:
    return {"session_id": shop.session2_id, "customer_id": customer_id,
            "lines": [{"product_id": shop.helmet_id}],
            "payments": [{"method": "cash", "amount": "60.00"}]}


@pytest.fixture
def two_customers(api: Any, shop: Shop) -> dict[str, Any]:
    """Ada (the shop's customer) and her duplicate "A. Rider", each with a sale."""
    dup = api.post("customers", json={"name": "A. Rider", "phone": "555 0100"})
    assert dup.status_code == 201, dup.json
    kept = api.post("pos/sales", json=bike_sale(shop))
    other = api.post("pos/sales", json=_helmet_sale(shop, dup.json["id"]))
    assert kept.status_code == 201 and other.status_code == 201, (kept.json, other.json)
    return {"into": shop.customer_id, "merged": dup.json["id"],
            "kept_sale": kept.json, "merged_sale": other.json}


def _pos_timeline(api: Any, customer_id: int) -> list[int]:
    items = api.get(f"customers/{customer_id}/timeline?per_page=100").json["items"]
    return [e["extra"]["sale_id"] for e in items if e["source"] == "pos"]


def _sales_of(api: Any, customer_id: int) -> list[int]:
    return [s["id"] for s in api.get(f"pos/sales?customer_id={customer_id}").json["items"]]


def test_the_survivor_finds_the_merged_customers_sales(api: Any, two_customers: dict) -> None:
    into, merged = two_customers["into"], two_customers["merged"]
    kept, other = two_customers["kept_sale"]["id"], two_customers["merged_sale"]["id"]
    assert _sales_of(api, into) == [kept] and _sales_of(api, merged) == [other]

    resp = api.post(f"customers/{into}/merge", json={"from_id": merged})
    assert resp.status_code == 200, resp.json

    assert sorted(_pos_timeline(api, into)) == sorted([kept, other])
    assert sorted(_sales_of(api, into)) == sorted([kept, other])
    assert _sales_of(api, merged) == [] and _pos_timeline(api, merged) == []
    assert api.get(f"pos/sales/{other}").json["customer_id"] == into
    # The receipt of the merged customer's sale names the customer it now belongs to.
    receipt = api.get(f"pos/sales/{other}/receipt").get_data(as_text=True)
    assert "Ada Rider" in receipt and "A. Rider" not in receipt
    # One audit entry for the merge, none per sale.
    actions = [e["action"] for e in api.get("audit?per_page=100").json["items"]]
    assert actions.count("customer.merged") == 1


def test_a_return_after_the_merge_belongs_to_the_survivor(api: Any, two_customers: dict) -> None:
    into, merged = two_customers["into"], two_customers["merged"]
    sale = two_customers["merged_sale"]
    assert api.post(f"customers/{into}/merge", json={"from_id": merged}).status_code == 200
    ret = api.post(f"pos/sales/{sale['id']}/returns",
                   json={"lines": [{"line_id": sale["lines"][0]["id"], "quantity": "1"}],
                         "reason": "too small", "refund_method": "cash"})
    assert ret.status_code == 201, ret.json
    assert ret.json["id"] in _sales_of(api, into) and _sales_of(api, merged) == []
    assert ret.json["id"] in _pos_timeline(api, into)


def test_returns_taken_before_the_merge_move_too(api: Any, two_customers: dict,
                                                 runtime: Any) -> None:
    into, merged = two_customers["into"], two_customers["merged"]
    sale = two_customers["merged_sale"]
    ret = api.post(f"pos/sales/{sale['id']}/returns",
                   json={"lines": [{"line_id": sale["lines"][0]["id"], "quantity": "1"}],
                         "reason": "too small", "refund_method": "cash"})
    assert ret.status_code == 201, ret.json
    assert api.post(f"customers/{into}/merge", json={"from_id": merged}).status_code == 200
    from plugins.pos.models import Sale
    with runtime.unit_of_work(write=False) as s:
        owners = dict(s.execute(select(Sale.id, Sale.customer_id)).all())
    assert set(owners.values()) == {into}
    assert ret.json["id"] in _sales_of(api, into)


def test_the_merge_in_services_moves_loaded_sales_in_the_session(
        runtime: Any, two_customers: dict, uow: Any) -> None:
    """Like the kernel's units, sales already in the session follow the UPDATE."""
    from core.records.parties import Customer, merge_customers
    from plugins.pos.models import Sale
    into, merged = two_customers["into"], two_customers["merged"]
    with uow() as (s, admin):
        loaded = s.get(Sale, two_customers["merged_sale"]["id"])
        assert loaded.customer_id == merged
        merge_customers(s, admin, s.get(Customer, into), s.get(Customer, merged), hook=runtime.hook)
        assert loaded.customer_id == into


class Refuser:
    """Runs after pos's ``customer_merged`` and refuses, like a plugin that cannot
    move its rows."""
    manifest = Manifest(name="merge_refuser", version="1", title="Refuses merges")

    def __init__(self) -> None:
        self.left_on_merged: list[int] = []

    @hookimpl(trylast=True)
    def customer_merged(self, session: Any, merged: Any) -> None:
        from plugins.pos.models import Sale
        self.left_on_merged.append(len(session.scalars(
            select(Sale.id).where(Sale.customer_id == merged.id)).all()))
        raise Invalid("cannot merge", fields={"from_id": ["refused"]})


REFUSER = Refuser()


class TestARefusedMerge:
    @pytest.fixture
    def app(self, app_factory: Any) -> Any:
        REFUSER.left_on_merged.clear()
        return app_factory(plugins=(REFUSER,))

    def test_moves_no_sale(self, api: Any, two_customers: dict) -> None:
        into, merged = two_customers["into"], two_customers["merged"]
        resp = api.post(f"customers/{into}/merge", json={"from_id": merged})
        assert resp.status_code == 422, resp.json
        assert REFUSER.left_on_merged == [0]     # pos had moved them, then it all rolled back
        assert _sales_of(api, merged) == [two_customers["merged_sale"]["id"]]
        assert _sales_of(api, into) == [two_customers["kept_sale"]["id"]]


def test_sales_of_earlier_merges_move_with_the_migration(api: Any, shop: Shop, runtime: Any,
                                                         two_customers: dict) -> None:
    """pos0002: merges made before pos moved the sales left them on the merged customer;
    the migration moves them to the customer that survived last (A → B, later B → C)."""
    from alembic import command

    from core import migrate
    into, merged = two_customers["into"], two_customers["merged"]
    other = two_customers["merged_sale"]["id"]
    third = api.post("customers", json={"name": "Ada R. (shop account)"}).json["id"]
    cfg = migrate.alembic_config(runtime)
    with runtime.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "pos0001")
    with runtime.db.engine.begin() as conn:   # two merges as the kernel recorded them then
        conn.exec_driver_sql(f"UPDATE customers SET merged_into_id = {into}, active = false "
                             f"WHERE id = {merged}")
        conn.exec_driver_sql(f"UPDATE customers SET merged_into_id = {third}, active = false "
                             f"WHERE id = {into}")
    migrate.upgrade(runtime)
    assert migrate.schema_diff(runtime) == []
    assert sorted(_sales_of(api, third)) == sorted([two_customers["kept_sale"]["id"], other])
    assert _sales_of(api, merged) == [] and _sales_of(api, into) == []


def test_a_sale_rung_up_during_a_merge_waits_and_is_refused(app: Any, api: Any, shop: Shop,
                                                             runtime: Any, uow: Any,
                                                             make_user: Any) -> None:
    """A till sells to the duplicate while the merge of that duplicate is in flight: the
    sale waits for the merge and is then refused (the customer is merged), instead of
    landing on the merged customer after the merge moved its sales."""
    import threading
    import time

    from core.records.parties import Customer, merge_customers
    dup = api.post("customers", json={"name": "A. Rider", "phone": "555 0100"}).json["id"]
    _uid, token = make_user("cashier")
    result: list[Any] = []

    def sell() -> None:
        resp = app.test_client().post("/api/v1/pos/sales", json=_helmet_sale(shop, dup),
                                      headers={"Authorization": f"Bearer {token}"})
        result.append((resp.status_code, resp.get_json()))

    seller = threading.Thread(target=sell)
    with uow() as (s, admin):
        merge_customers(s, admin, s.get(Customer, shop.customer_id), s.get(Customer, dup),
                        hook=runtime.hook)
        seller.start()
        time.sleep(0.5)
        assert seller.is_alive() and not result   # waiting for the merge
    seller.join(30)
    [(status, body)] = result
    assert status == 422, body
    assert body["error"]["fields"]["customer_id"] == [f"Merged into {shop.customer_id}."]
    assert _sales_of(api, dup) == [] and _sales_of(api, shop.customer_id) == []
