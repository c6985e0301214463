"""Unified search over the records: exact identifiers first, permissions respected,
and the same indexed search on both backends."""
from core.records import search as rsearch


def _search(api, q):
    r = api.get("search", query_string={"q": q})
    assert r.status_code == 200, r.json
    return r.json["results"]


def test_exact_serial_ranks_first(api, make_product, make_location, make_customer):
    loc = make_location()
    tv = make_product(sku="TV-55", name="Sony TV ABC123 edition", serialized=True)
    make_customer("Abc123 Person")
    unit = api.post("items", json={"product_id": tv["id"], "serial": "abc 123",
                                   "location_id": loc["id"]}).json
    results = _search(api, "ABC123")
    assert results[0]["type"] == "item" and results[0]["id"] == unit["id"] and results[0]["exact"]
    types = {r["type"] for r in results}
    assert {"item", "product", "customer"} <= types
    assert all(not r["exact"] for r in results[1:])


def test_barcode_and_sku_are_exact(api, make_product):
    p = make_product(sku="BK-TREK-FX2", name="Trek FX 2", barcode="4006381333931")
    make_product(sku="BK-TREK-FX3", name="Trek FX 3")
    for q in ("4006381333931", "BK-TREK-FX2"):
        results = _search(api, q)
        assert results[0] == {**results[0], "type": "product", "id": p["id"], "exact": True}, q
    results = _search(api, "trek")
    assert len(results) == 2 and not any(r["exact"] for r in results)


def test_customers_by_phone_name_email(api, make_customer):
    c = make_customer("Maria Gonzalez", phone="(555) 010-2030", email="maria@example.com")
    for q in ("555 010 2030", "+1 555 010 2030", "0102", "mar", "gonz", "maria@example.com"):
        results = _search(api, q)
        assert [(r["type"], r["id"]) for r in results] == [("customer", c["id"])], q


def test_search_respects_permissions(api, api_as, make_customer, make_product):
    make_customer("Visible Person")
    make_product(name="Visible Product")
    assert _search(api_as("technician"), "visible")  # technicians see both
    assert api_as("read_only").get("search", query_string={"q": "visible"}).status_code == 200
    # a role without any records permission finds nothing
    assert _search(api_as(), "visible") == []


def test_direct_hit_and_no_wildcard_scan(runtime, api, make_product, backend):
    """The SQL for a customer search uses the search index, never LIKE '%…' on the table."""
    from sqlalchemy.dialects import postgresql, sqlite
    with runtime.unit_of_work(write=False) as s:
        stmt = rsearch.customer_list_stmt(s, "jan")
        sql = str(stmt.compile(dialect=(sqlite.dialect() if backend == "sqlite"
                                        else postgresql.dialect())))
        assert ("MATCH" in sql) if backend == "sqlite" else ("to_tsquery" in sql)
        assert "LIKE" not in sql


def test_query_plans_use_indexes(runtime, api, make_customer, backend):
    from sqlalchemy import text
    make_customer("Jan Kowalski", phone="555 010 2030")
    if backend != "sqlite":
        return  # PostgreSQL picks seq scans on tiny tables; the indexes are checked in the schema test
    with runtime.db.engine.connect() as conn:
        for q in ("jan", "0102", "5550102030"):
            with runtime.unit_of_work(write=False) as s:
                branch = rsearch.customer_branches(s, q)[0]
                from sqlalchemy import select
                from core.records.parties import Customer
                stmt = branch(select(Customer.id)).limit(20)
                compiled = stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
            plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "SCAN customers" not in plan.replace("SCAN customers_", "X"), (q, plan)
