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
            assert {"customers_fts", "customers_phone_fts", "products_fts",
                    "customers_fts_ai", "stock_moves_no_update"} <= names
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
