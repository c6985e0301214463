"""The benchmark's data generator stays honest as the schema evolves: rows it bulk-loads
(bypassing the services) are found by the app's search and look-ups exactly as rows
created through the services are. No timing here — that is bench/'s job."""
from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.conftest import TEST_PASSWORD_METHOD


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from bench.generate import generate
    instance = tmp_path_factory.mktemp("bench-shop")
    stats = generate(str(instance), customers=300, products=50, units=1000, seed=3,
                     overrides={"password_method": TEST_PASSWORD_METHOD})
    return {"instance": str(instance), "db": stats.path, "stats": stats}


@pytest.fixture
def shop_app(shop: dict[str, Any]) -> Any:
    """An app on the generated database (the module's shop: tests below only add rows
    they look for themselves)."""
    from core.app import create_app
    from core.runtime import set_current
    app = create_app({"instance_path": shop["instance"], "password_method": TEST_PASSWORD_METHOD,
                      "testing": True})
    yield app
    app.extensions["counterdesk"].close()
    set_current(None)


@pytest.fixture
def api(shop_app: Any) -> Any:
    from sqlalchemy import select

    from core.auth import issue_token
    from core.models import User
    from tests.conftest import ApiClient
    rt = shop_app.extensions["counterdesk"]
    with rt.unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == "bench"))
        _token, clear = issue_token(s, user, name="smoke")
    return ApiClient(shop_app.test_client(), clear)


def _rows(db: str, sql: str, *args: Any) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _ids(resp: Any, key: str = "items") -> set[int]:
    assert resp.status_code == 200, resp.get_json()
    return {r["id"] for r in resp.get_json()[key]}


def test_sizes_and_stats(shop: dict[str, Any]) -> None:
    db = shop["db"]
    counts = {t: _rows(db, f"SELECT count(*) FROM {t}")[0][0]
              for t in ("customers", "products", "items")}
    assert counts == {"customers": 300, "products": 50, "items": 1000}
    names = {s.name for s in shop["stats"].steps}
    assert {"insert customers", "insert products", "insert items"} <= names
    # back to the app's journal mode
    assert _rows(db, "PRAGMA journal_mode")[0][0] == "wal"


def test_search_columns_are_normalised_by_the_records_module(shop: dict[str, Any]) -> None:
    from core.records.catalog import barcode_problem
    from core.records.items import normalize_serial
    from core.records.parties import normalize_email, phone_digits
    db = shop["db"]
    for phone, digits, email in _rows(db, "SELECT phone, phone_digits, email FROM customers"):
        assert digits == phone_digits(phone)
        assert email == normalize_email(email)
    for serial, norm in _rows(db, "SELECT serial, serial_norm FROM items"):
        assert norm == normalize_serial(serial) and serial == serial.strip()
    barcodes = [b for (b,) in _rows(db, "SELECT barcode FROM products WHERE barcode IS NOT NULL")]
    assert barcodes and all(barcode_problem(b) is None for b in barcodes)


def test_schema_indexes_and_search_tables_are_intact(shop: dict[str, Any], shop_app: Any) -> None:
    from core import migrate
    from core.records.stock import verify_levels
    rt = shop_app.extensions["counterdesk"]
    assert migrate.schema_diff(rt) == []
    assert not migrate.pending(rt)
    with rt.unit_of_work(write=False) as s:
        assert verify_levels(s) == []
    con = sqlite3.connect(shop["db"])
    try:
        fts = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                         "AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'")]
        assert fts
        for name in fts:   # raises if the index disagrees with its content table
            con.execute(f"INSERT INTO {name}({name}, rank) VALUES ('integrity-check', 1)")
        triggers = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
        assert {f"{n}_{s}" for n in fts for s in ("ai", "ad", "au")} <= triggers
    finally:
        con.close()


def test_generated_customer_found_like_a_service_created_one(shop: dict[str, Any], api: Any) -> None:
    db = shop["db"]
    cid, name, phone, digits = _rows(
        db, "SELECT id, name, phone, phone_digits FROM customers WHERE phone IS NOT NULL "
            "AND length(phone_digits) = 10 ORDER BY id LIMIT 1 OFFSET 17")[0]
    # a customer created through the API with the same phone, typed differently
    typed = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    resp = api.post("customers", json={"name": "Servicia Created", "phone": typed})
    assert resp.status_code == 201, resp.get_json()
    new_id = resp.get_json()["id"]
    assert cid in {c["id"] for c in resp.get_json()["possible_duplicates"]}

    for q in (digits, f"{digits[:3]}.{digits[3:6]}.{digits[6:]}", digits[3:10],
              f"{digits[4:7]}-{digits[7:]}", digits[5:9]):
        found = _ids(api.get("customers", query_string={"q": q, "per_page": 200}))
        assert {cid, new_id} <= found, q
    last = name.split()[-1]
    first = name.split()[0]
    found = _ids(api.get("customers", query_string={"q": f"{first[:3]} {last}", "per_page": 200}))
    assert cid in found
    found = _ids(api.get("customers", query_string={"q": last[:2].lower(), "per_page": 200}))
    assert cid in found
    hits = api.get("search", query_string={"q": f"{first} {last}", "limit": 100}).get_json()
    assert ("customer", cid) in {(r["type"], r["id"]) for r in hits["results"]}


def test_generated_customer_can_be_edited_and_stays_searchable(shop: dict[str, Any],
                                                              api: Any) -> None:
    """The FTS triggers are back after loading and agree with the rebuilt index."""
    cid, old_digits = _rows(shop["db"], "SELECT id, phone_digits FROM customers "
                                        "WHERE phone_digits IS NOT NULL AND id <= 300 ORDER BY id DESC LIMIT 1")[0]
    resp = api.patch(f"customers/{cid}", json={"name": "Quintessa Zyborg", "phone": "777-013-4679"})
    assert resp.status_code == 200, resp.get_json()
    assert cid in _ids(api.get("customers", query_string={"q": "zybo"}))
    assert cid in _ids(api.get("customers", query_string={"q": "0134679"}))
    assert cid not in _ids(api.get("customers", query_string={"q": old_digits, "per_page": 200}))


def test_generated_units_and_products_found_by_serial_and_barcode(shop: dict[str, Any],
                                                                 api: Any) -> None:
    db = shop["db"]
    item_id, serial = _rows(db, "SELECT id, serial FROM items ORDER BY id LIMIT 1 OFFSET 411")[0]
    for typed in (serial, serial.lower(), f"  {serial[:3]} {serial[3:]} "):
        assert item_id in _ids(api.get("items", query_string={"serial": typed}))
    hits = api.get("search", query_string={"q": serial.lower()}).get_json()["results"]
    assert [(r["type"], r["id"]) for r in hits if r["exact"]] == [("item", item_id)]

    for length in (13, 12):
        rows = _rows(db, "SELECT id, barcode, sku FROM products WHERE length(barcode) = ? "
                         "ORDER BY id LIMIT 1", length)
        if not rows:
            continue
        pid, barcode, sku = rows[0]
        spellings = [barcode] + (["0" + barcode] if length == 12 else [])
        for code in spellings:
            assert _ids(api.get("products", query_string={"q": code})) == {pid}
            hits = api.get("search", query_string={"q": code}).get_json()["results"]
            assert ("product", pid) in {(r["type"], r["id"]) for r in hits if r["exact"]}
        assert pid in _ids(api.get("products", query_string={"q": sku}))


def test_generated_rows_found_through_the_services(shop: dict[str, Any], shop_app: Any) -> None:
    from sqlalchemy import select

    from core.models import User
    from core.records import catalog, items
    from core.records.search import search_customers
    from core.search import direct_hit, unified_search
    db = shop["db"]
    rt = shop_app.extensions["counterdesk"]
    item_id, serial = _rows(db, "SELECT id, serial FROM items ORDER BY id DESC LIMIT 1")[0]
    pid, barcode = _rows(db, "SELECT id, barcode FROM products WHERE barcode IS NOT NULL "
                             "ORDER BY id DESC LIMIT 1")[0]
    cid, name, digits = _rows(db, "SELECT id, name, phone_digits FROM customers "
                                  "WHERE phone_digits IS NOT NULL ORDER BY id LIMIT 1 OFFSET 5")[0]
    with shop_app.app_context(), rt.unit_of_work(write=False) as s:
        actor = s.scalar(select(User).where(User.username == "bench"))
        assert [i.id for i in items.items_by_serial(s, serial.lower())] == [item_id]
        assert catalog.find_product_by_code(s, barcode).id == pid
        assert cid in {c.id for c in search_customers(s, digits[2:8], limit=1000)}
        assert cid in {c.id for c in search_customers(s, name, limit=1000)}
        hit = direct_hit(unified_search(rt, s, serial, actor))
        assert hit is not None and (hit.type, hit.id) == ("item", item_id)
