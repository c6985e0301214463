"""Factories for the records' tests (through the HTTP API with an admin's token)."""
from __future__ import annotations

import itertools
from typing import Any

import pytest

_seq = itertools.count(1)


@pytest.fixture
def make_product(api: Any):
    def make(**kw: Any) -> dict:
        n = next(_seq)
        body = {"sku": f"SKU-{n}", "name": f"Product {n}", "price": "10.00", **kw}
        r = api.post("products", json=body)
        assert r.status_code == 201, r.json
        return r.json
    return make


@pytest.fixture
def make_location(api: Any):
    def make(name: str | None = None, kind: str = "store") -> dict:
        r = api.post("locations", json={"name": name or f"Location {next(_seq)}", "kind": kind})
        assert r.status_code == 201, r.json
        return r.json
    return make


@pytest.fixture
def make_customer(api: Any):
    def make(name: str = "Jane Doe", **kw: Any) -> dict:
        r = api.post("customers", json={"name": name, **kw})
        assert r.status_code == 201, r.json
        return r.json
    return make


@pytest.fixture
def stock_in(api: Any):
    def add(product_id: int, location_id: int, quantity: int, serials: list | None = None) -> Any:
        body = {"product_id": product_id, "to_location_id": location_id, "quantity": quantity,
                "reason": "opening stock"}
        if serials:
            body["serials"] = serials
        r = api.post("stock/moves", json=body)
        assert r.status_code == 201, r.json
        return r.json
    return add


def level(api: Any, product_id: int, location_id: int) -> dict:
    r = api.get(f"stock?product_id={product_id}&location_id={location_id}")
    assert r.status_code == 200, r.json
    rows = r.json["items"]
    return rows[0] if rows else {"on_hand": 0, "reserved": 0, "available": 0}
