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


def _customer_ids(results):
    return [r["id"] for r in results if r["type"] == "customer"]


def _list_ids(api, path, **query):
    r = api.get(path, query_string=query)
    assert r.status_code == 200, r.json
    return [x["id"] for x in r.json["items"]], r.json["total"]


def test_phone_fragment_finds_a_customer_once_and_not_when_merged(api, make_customer):
    """A fragment that occurs twice in a number finds its customer once; a merged
    customer drops out of the search box and the list (unless ``include_merged``)."""
    rep = make_customer("Repeat Digits", phone="555 555 5555")
    other = make_customer("Other Digits", phone="444 555 1212")
    assert sorted(_customer_ids(_search(api, "555"))) == sorted([rep["id"], other["id"]])
    assert _list_ids(api, "customers", q="555") == ([other["id"], rep["id"]], 2)
    assert _customer_ids(_search(api, "5551")) == [other["id"]]
    r = api.post(f"customers/{rep['id']}/merge", json={"from_id": other["id"]})
    assert r.status_code == 200, r.json
    assert _customer_ids(_search(api, "5551212")) == []
    assert _list_ids(api, "customers", q="5551212") == ([], 0)
    assert _list_ids(api, "customers", q="5551212", include_merged="true") == ([other["id"]], 1)


def test_word_prefixes_of_any_length(api, make_customer, make_product):
    """Prefixes longer than the FTS prefix indexes of earlier versions (6 letters)."""
    c = make_customer("Maximilian Schwarzenegger-Oberhuber", email="max.sch@example.com")
    make_customer("Max Schwarz")
    p = make_product(name="Thunderbolt Docking Station", description="Quadruple-display")
    for q in ("schwarzen", "Schwarzenegger", "oberhuber", "max schwarzeneg", "maximilian o"):
        assert _customer_ids(_search(api, q)) == [c["id"]], q
        assert _list_ids(api, "customers", q=q) == ([c["id"]], 1), q
    for q in ("thunderbol", "quadruple", "docking stat"):
        assert [r["id"] for r in _search(api, q) if r["type"] == "product"] == [p["id"]], q
        assert _list_ids(api, "products", q=q) == ([p["id"]], 1), q


def test_customer_list_search_pages_newest_first(api, make_customer):
    """``GET /customers?q=`` pages through the matches newest first, with the total."""
    ids = [make_customer(f"Anna Kowalska {n}", phone=f"555 010 20{n}0")["id"] for n in range(5)]
    newest_first = ids[::-1]
    for q in ("kowal", "anna k", "0102"):
        pages = [_list_ids(api, "customers", q=q, per_page=2, page=n) for n in (1, 2, 3)]
        assert [page_ids for page_ids, _total in pages] == [newest_first[:2], newest_first[2:4],
                                                              newest_first[4:]], q
        assert {total for _page_ids, total in pages} == {5}, q
    # one or two digits: a phone number's start, by number
    assert _list_ids(api, "customers", q="55", per_page=50) == (ids, 5)


def test_query_plans_use_indexes(runtime, api, make_customer, make_product, make_location,
                                 backend):
    """Every statement the search box and the searched lists send is an index look-up:
    none scans customers, products or units, also without ANALYZE statistics (as in
    these tests' database and in a shop that never ran it)."""
    from sqlalchemy import event

    from core.records import items
    from core.records.search import search_customers, search_products
    if backend != "sqlite":
        return  # PostgreSQL picks seq scans on tiny tables; the indexes are checked in the schema test
    make_customer("Jan Kowalski", phone="555 010 2030", email="jan@example.com")
    tv = make_product(sku="TV-1", name="Television", barcode="4006381333931", serialized=True)
    api.post("items", json={"product_id": tv["id"], "serial": "SN1",
                            "location_id": make_location()["id"]})
    sent: list = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(runtime.db.engine, "before_cursor_execute", record)
    try:
        with runtime.unit_of_work(write=False) as s:
            for q in ("jan", "jan kowalsk", "0102", "5550102030", "55", "jan@example.com"):
                assert search_customers(s, q), q
            for q in ("4006381333931", "TV-1", "telev"):
                assert search_products(s, q), q
            assert items.items_by_serial(s, "sn 1")
        searched = len(sent)
        for path, q in (("customers", "jan"), ("customers", "0102"), ("products", "4006381333931"),
                        ("items", None)):
            r = api.get(path, query_string={"q": q} if q else {"serial": "sn1"})
            assert r.status_code == 200 and r.json["items"], (path, q)
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", record)
    assert searched >= 10 and len(sent) > searched
    with runtime.db.engine.connect() as conn:
        for statement, parameters in sent:
            if not any(t in statement for t in ("customers", "products", "items")):
                continue   # the request's own look-ups (token, user)
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters))
            scans = [w for w in plan.split("SCAN ")[1:]
                     if w.split()[0] in ("customers", "products", "items")]
            assert not scans, (statement, parameters, plan)
            # "not merged" holds for nearly every customer: walking that index is a scan
            assert "merged_into_id" not in plan, (statement, parameters, plan)
