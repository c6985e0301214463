"""Input no field can hold is a clear 4xx in the API's error shape, never a 500 and
never a half-written record, on SQLite and PostgreSQL: NUL characters (PostgreSQL cannot
store them in text), JSON nested deeper than the parser goes, and amounts beyond what the
money columns hold (sums and products of amounts that are each valid)."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import MONEY_LIMIT


def _count(runtime: Any, model: Any) -> int:
    with runtime.unit_of_work(write=False) as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("path, body", [
    ("customers", {"name": "Ada\u0000Rider"}),
    ("customers", {"name": "Ada", "notes": ["x"]}),          # a 422 from the schema, for contrast
    ("vendors", {"name": "\u0000"}),
    ("products", {"sku": "\u0000", "name": "Bell", "price": "5.00"}),
    ("locations", {"name": "Back\u0000room"}),
])
def test_nul_in_a_body_is_refused_and_writes_nothing(api: Any, runtime: Any, path: str,
                                                     body: dict) -> None:
    from core.models import AuditEntry
    before = _count(runtime, AuditEntry)
    resp = api.post(path, json=body)
    assert resp.status_code in (400, 422), resp.json
    if "\u0000" in str(body):
        assert resp.status_code == 400
        assert resp.json["error"]["code"] == "bad_request"
        assert "NUL" in resp.json["error"]["message"]
    assert _count(runtime, AuditEntry) == before


def test_nul_in_the_path_query_and_headers_is_refused(api: Any, client: Any) -> None:
    for resp in (api.get("products?q=a%00b"), api.get("audit?action=%00"),
                 api.get("pos/lookup?code=%00"),
                 client.get("/api/v1/public/tickets/R-1%00"),
                 api.post("customers", json={"name": "Ada"}, headers={"Idempotency-Key": "k\x00"})):
        assert resp.status_code == 400, (resp.status_code, resp.get_data(as_text=True)[:200])
        assert "NUL" in resp.get_json()["error"]["message"]


def test_nul_in_a_form_is_refused(client: Any) -> None:
    resp = client.post("/login", data={"username": "admin\x00", "password": "x"},
                       headers={"Accept": "text/html"})
    assert resp.status_code == 400


def test_a_body_nested_too_deeply_is_a_400(client: Any, api: Any) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    resp = client.post("/api/v1/auth/tokens", data=deep, content_type="application/json")
    assert resp.status_code == 400 and "nested too deeply" in resp.get_json()["error"]["message"]
    deep_obj = '{"a":' * 100_000 + "1" + "}" * 100_000
    resp = api.post("customers", data=deep_obj, content_type="application/json")
    assert resp.status_code == 400 and "nested too deeply" in resp.get_json()["error"]["message"]


def test_an_amount_beyond_the_money_columns_is_refused_on_every_backend(api: Any,
                                                                        runtime: Any) -> None:
    """SQLite would store it, PostgreSQL fails with an overflow: the money type refuses
    it on both with the 422 the app answers (the till and the desk: their tests)."""
    from sqlalchemy.exc import StatementError

    from core.db import AmountTooLarge
    from core.records.catalog import Product
    product = api.post("products", json={"sku": "CHAIN", "name": "Chain", "price": "9999999999.99"})
    assert product.status_code == 201, product.json
    for amount in (MONEY_LIMIT, -MONEY_LIMIT, MONEY_LIMIT * 10):
        with pytest.raises(StatementError) as caught:
            with runtime.unit_of_work() as s:
                s.get(Product, product.json["id"]).price = amount
                s.flush()
        assert isinstance(caught.value.orig, AmountTooLarge)
        assert caught.value.orig.status == 422 and caught.value.orig.code == "amount_too_large"
    assert api.get(f"products/{product.json['id']}").json["price"] == "9999999999.99"
