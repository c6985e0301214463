"""The records' migration: the database equals the models on both backends, and the
hand-written search DDL exists."""
from sqlalchemy import inspect, text

from core import migrate


def test_schema_matches_models(runtime):
    assert migrate.schema_diff(runtime) == []


def test_search_objects_exist(runtime, backend):
    with runtime.db.engine.connect() as conn:
        if backend == "sqlite":
            names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
            assert {"customers_fts", "customers_phone_suffixes", "products_fts",
                    "customers_fts_ai", "customers_phone_suffixes_ai",
                    "stock_moves_no_update"} <= names
            assert "customers_phone_fts" not in names   # replaced by the suffixes (0005)
        else:
            indexes = {i["name"] for i in inspect(conn).get_indexes("customers")}
            assert {"ix_search_customers_words", "ix_search_customers_phone_trgm"} <= indexes


def test_downgrade_and_upgrade_again(runtime):
    from alembic import command
    cfg = migrate.alembic_config(runtime)
    with runtime.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001_core")
    with runtime.db.engine.connect() as conn:
        assert "customers" not in inspect(conn).get_table_names()
    migrate.upgrade(runtime)
    assert migrate.schema_diff(runtime) == []


def _suffixes_of(digits):
    return {digits[i:] for i in range(len(digits) - 2)} if digits else set()


def test_phone_suffixes_follow_every_change(runtime, backend):
    """``customers_phone_suffixes`` holds exactly the 3+ digit suffixes of every
    customer's ``phone_digits``, whatever writes the row (the triggers keep it)."""
    if backend != "sqlite":
        return  # PostgreSQL searches phone fragments through its pg_trgm index
    stored = "SELECT suffix, customer_id FROM customers_phone_suffixes"
    expected = "SELECT id, phone_digits FROM customers"
    with runtime.db.engine.begin() as conn:
        for n, digits in enumerate(("5550102030", "12", None, "5555555555", "4155"), start=1):
            conn.execute(text("INSERT INTO customers (id, name, phone_digits, address, notes, "
                              "contact_channel, marketing_opt_out, active, created_at, updated_at) "
                              "VALUES (:id, 'x', :d, '', '', 'none', 0, 1, '2026-01-01', "
                              "'2026-01-01')"), {"id": n, "d": digits})
        conn.execute(text("UPDATE customers SET phone_digits = '7778889999' WHERE id = 1"))
        conn.execute(text("UPDATE customers SET phone_digits = '987' WHERE id = 3"))
        conn.execute(text("UPDATE customers SET phone_digits = NULL WHERE id = 5"))
        conn.execute(text("UPDATE customers SET name = 'y' WHERE id = 4"))
        conn.execute(text("DELETE FROM customers WHERE id = 2"))
        want = {(s, cid) for cid, d in conn.execute(text(expected)) for s in _suffixes_of(d)}
        assert set(conn.execute(text(stored)).all()) == want
        assert ("030", 1) not in want and ("999", 1) in want and ("987", 3) in want


def test_upgrade_finds_existing_customers_by_phone_fragment(runtime, api, make_customer, backend):
    """A shop upgraded to 0005 finds the customers it already had by a phone fragment."""
    from alembic import command
    if backend != "sqlite":
        return
    c = make_customer("Old Customer", phone="(555) 010-2030")
    cfg = migrate.alembic_config(runtime)
    with runtime.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004_search_prefixes")
        assert "customers_phone_suffixes" not in inspect(conn).get_table_names()
    migrate.upgrade(runtime)
    r = api.get("customers", query_string={"q": "010-20"})
    assert [x["id"] for x in r.json["items"]] == [c["id"]]
    assert migrate.schema_diff(runtime) == []
