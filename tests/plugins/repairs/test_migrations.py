"""rp0004 (a pickup's tax) on a shop's existing database: the column comes and goes
with the revision, and pickups recorded before it keep their figures, with no tax."""
from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import inspect

from core import migrate


def _pickup_columns(runtime: Any) -> set[str]:
    with runtime.db.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("repairs_pickup")}


def test_pickups_recorded_before_the_tax_column_keep_their_figures(desk: Any, runtime: Any) -> None:
    t = desk.intake(deposit={"amount": "10.00", "method": "cash"})
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 60, "description": "Clean"}), 201)
    desk.move(t["id"], "ready")
    cfg = migrate.alembic_config(runtime)
    with runtime.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "rp0003")
    assert "tax" not in _pickup_columns(runtime)
    with runtime.db.engine.begin() as conn:   # a pickup as the desk recorded it then
        conn.exec_driver_sql(
            "INSERT INTO repairs_pickup (ticket_id, at, total, deposit_applied, amount_due, "
            "payment_method, payment_reference, sale_number) "
            f"VALUES ({t['id']}, CURRENT_TIMESTAMP, 60.00, 10.00, 50.00, 'cash', '', '')")
    migrate.upgrade(runtime)
    assert "tax" in _pickup_columns(runtime) and migrate.schema_diff(runtime) == []
    [pk] = desk.ticket(t["id"])["pickups"]
    assert (pk["total"], pk["tax"], pk["deposit_applied"], pk["amount_due"]) == \
        ("60.00", "0.00", "10.00", "50.00")
