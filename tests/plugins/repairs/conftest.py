"""Factories for the repairs tests. Service and API tests run on SQLite and on
PostgreSQL (``backend``); the browser test pins SQLite in its own module."""
from __future__ import annotations

import itertools
from typing import Any, Callable

import pytest

_seq = itertools.count(1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


class Desk:
    """The counter through the HTTP API, as an admin: records and tickets."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def ok(self, resp: Any, status: int = 200) -> Any:
        assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:2000])
        return resp.json

    def customer(self, name: str = "Jane Doe", phone: str = "555 010 2030", **kw: Any) -> dict:
        return self.ok(self.api.post("customers", json={"name": name, "phone": phone, **kw}), 201)

    def product(self, **kw: Any) -> dict:
        n = next(_seq)
        body = {"sku": f"RP-{n}", "name": f"Product {n}", "price": "10.00", **kw}
        return self.ok(self.api.post("products", json=body), 201)

    def laptop(self) -> dict:
        return self.product(name="ThinkBook 14 laptop", serialized=True, price="899.00")

    def location(self, name: str | None = None) -> dict:
        return self.ok(self.api.post("locations", json={"name": name or f"Store {next(_seq)}",
                                                        "kind": "store"}), 201)

    def stock_in(self, product_id: int, location_id: int, quantity: int) -> None:
        self.ok(self.api.post("stock/moves", json={"product_id": product_id,
                                                   "to_location_id": location_id,
                                                   "quantity": quantity, "reason": "opening"}), 201)

    def level(self, product_id: int, location_id: int) -> dict:
        rows = self.ok(self.api.get(f"stock?product_id={product_id}&location_id={location_id}"))["items"]
        return rows[0] if rows else {"on_hand": 0, "reserved": 0, "available": 0}

    def intake(self, customer_id: int | None = None, **kw: Any) -> dict:
        if customer_id is None:
            customer_id = self.customer()["id"]
        body = {"customer_id": customer_id, "problem": "Does not power on",
                "item_description": "Black laptop, no serial", **kw}
        return self.ok(self.api.post("repairs/tickets", json=body), 201)

    def move(self, ticket_id: int, to: str, **kw: Any) -> dict:
        return self.ok(self.api.post(f"repairs/tickets/{ticket_id}/transitions",
                                     json={"to": to, **kw}))

    def ticket(self, ticket_id: int) -> dict:
        return self.ok(self.api.get(f"repairs/tickets/{ticket_id}"))


@pytest.fixture
def desk(api: Any) -> Desk:
    return Desk(api)


@pytest.fixture
def uow(runtime: Any) -> Callable[..., Any]:
    """``with uow() as s:`` a unit of work on the test's database."""
    return runtime.unit_of_work


@pytest.fixture
def admin_id(api: Any, runtime: Any) -> int:
    from sqlalchemy import select
    from core.models import User
    with runtime.unit_of_work() as s:
        return s.scalar(select(User.id).where(User.username == "root"))
