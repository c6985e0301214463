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


def _estimate_columns(runtime: Any) -> set[str]:
    with runtime.db.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("repairs_estimate")}


def test_estimates_made_before_they_stated_tax_say_so(desk: Any, runtime: Any) -> None:
    """rp0005 (an estimate's tax): an estimate approved before it keeps its amount with
    tax and total unknown — "100.00 (tax not stated)" — and work beyond it is
    compared in prices, as it was then (100.00 of labour is within it, whatever the
    tax on labour; a minute more asks again)."""
    desk.ok(desk.api.put("settings/repairs", json={"values": {"labour_tax_rate": "20"}}))
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    cfg = migrate.alembic_config(runtime)
    with runtime.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "rp0004")
    assert not {"tax", "total", "prices_include_tax"} & _estimate_columns(runtime)
    with runtime.db.engine.begin() as conn:   # an estimate as the desk recorded it then
        conn.exec_driver_sql(
            "INSERT INTO repairs_estimate (ticket_id, amount, parts_amount, labor_amount, "
            "labor_minutes, note, status, requested_at, decided_at, decided_via, decision_note) "
            f"VALUES ({t['id']}, 100.00, 0, 0, 0, '', 'approved', CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP, 'phone', '')")
    migrate.upgrade(runtime)
    assert {"tax", "total", "prices_include_tax"} <= _estimate_columns(runtime)
    assert migrate.schema_diff(runtime) == []
    [est] = desk.ticket(t["id"])["estimates"]
    assert (est["amount"], est["tax"], est["total"], est["prices_include_tax"], est["summary"]) == \
        ("100.00", None, None, None, "100.00 (tax not stated)")
    text = desk.api.get(f"repairs/tickets/{t['id']}/receipt").get_data(as_text=True)
    assert "100.00 (tax not stated)" in text
    desk.move(t["id"], "in_repair")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 100, "description": "Clean"}), 201)
    assert desk.ticket(t["id"])["status"] == "in_repair"
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": 1, "description": "Test"}), 201)
    ticket = desk.ticket(t["id"])
    assert ticket["status"] == "awaiting_approval"
    assert ticket["estimates"][-1]["note"] == "The work now comes to 101.00, more than the 100.00 approved."
    assert ticket["estimates"][-1]["summary"] == "101.00 + 20.20 tax = 121.20"
