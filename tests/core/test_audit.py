"""The audit log is append-only, hash-chained, and tampering shows."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.core.test_plugins import run_cli


def _make_entries(api, n=3):
    for i in range(n):
        assert api.put("settings/core", json={"values": {"shop_name": f"Shop {i}"}}).status_code == 200


def test_entries_record_who_what_before_and_after(api):
    _make_entries(api, 2)
    items = api.get("audit?action=settings.changed").json["items"]
    assert [e["after"] for e in items] == [{"shop_name": "Shop 1"}, {"shop_name": "Shop 0"}]
    assert items[0]["before"] == {"shop_name": "Shop 0"}
    assert items[0]["actor_name"] == "root"
    assert api.get("audit/verify").json["ok"] is True


def test_the_database_refuses_updates_and_deletes(api, app):
    _make_entries(api, 1)
    rt = app.extensions["counterdesk"]
    for sql in ("UPDATE audit_log SET actor_name = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with rt.db.engine.begin() as conn:
                conn.execute(text(sql))


def _tamper(rt, sql):
    """Edit the log behind the application's back (dropping the guard first)."""
    with rt.db.engine.begin() as conn:
        if rt.db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text(sql))


def test_an_edited_row_is_detected_by_api_and_cli(api, app):
    _make_entries(api, 4)
    rt = app.extensions["counterdesk"]
    ids = [e["id"] for e in api.get("audit?action=settings.changed").json["items"]]
    victim = sorted(ids)[1]
    _tamper(rt, f"UPDATE audit_log SET after = '{{\"shop_name\": \"Evil\"}}' WHERE id = {victim}")
    result = api.get("audit/verify").json
    assert result["ok"] is False and result["first_bad_id"] == victim
    env = {"COUNTERDESK_DATABASE_URL": rt.config.database_url, "COUNTERDESK_PLUGINS": "pos"}
    cli = run_cli("audit", "verify", env=env, instance=rt.config.instance_path)
    assert cli.returncode == 1
    assert f"BROKEN at entry {victim}" in cli.stderr


def test_a_deleted_row_is_detected(api, app):
    _make_entries(api, 3)
    rt = app.extensions["counterdesk"]
    ids = sorted(e["id"] for e in api.get("audit?action=settings.changed").json["items"])
    _tamper(rt, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    result = api.get("audit/verify").json
    assert result == {"ok": False, "checked": result["checked"], "first_bad_id": ids[2]}


def test_a_deleted_tail_is_detected(api, app):
    _make_entries(api, 3)
    rt = app.extensions["counterdesk"]
    last = max(e["id"] for e in api.get("audit?action=settings.changed").json["items"])
    _tamper(rt, f"DELETE FROM audit_log WHERE id = {last}")
    assert api.get("audit/verify").json["ok"] is False


def test_intact_log_verifies_on_the_cli(api, app):
    _make_entries(api, 2)
    rt = app.extensions["counterdesk"]
    env = {"COUNTERDESK_DATABASE_URL": rt.config.database_url, "COUNTERDESK_PLUGINS": "pos"}
    cli = run_cli("audit", "verify", env=env, instance=rt.config.instance_path)
    assert cli.returncode == 0 and "intact" in cli.stdout


def _actions(rt):
    from core.models import AuditEntry
    from sqlalchemy import select
    with rt.unit_of_work(write=False) as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("t.%"))
                              .order_by(AuditEntry.id)))


def test_entries_are_written_at_commit_in_order_and_dropped_with_a_savepoint(app):
    from core import audit
    rt = app.extensions["counterdesk"]
    with rt.unit_of_work() as s:
        audit.record(s, "t.one", actor=None)
        try:
            with s.begin_nested():
                audit.record(s, "t.inside-rolled-back", actor=None)
                raise RuntimeError("undo the savepoint")
        except RuntimeError:
            pass
        with s.begin_nested():
            audit.record(s, "t.inside-kept", actor=None)
        audit.record(s, "t.two", actor=None)
    with pytest.raises(RuntimeError):
        with rt.unit_of_work() as s:
            audit.record(s, "t.rolled-back", actor=None)
            raise RuntimeError("undo the unit of work")
    assert _actions(rt) == ["t.one", "t.inside-kept", "t.two"]
    with rt.unit_of_work(write=False) as s:
        assert audit.verify(s)["ok"] is True


def test_concurrent_writers_keep_one_chain(app):
    """Many units of work at once, several entries each: one unbroken chain."""
    import threading

    from core import audit
    rt = app.extensions["counterdesk"]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for k in range(8):
                with rt.unit_of_work() as s:
                    for j in range(3):
                        audit.record(s, f"t.w{n}.{k}.{j}", actor=None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    actions = _actions(rt)
    assert len(actions) == 4 * 8 * 3
    # each unit of work's entries stay together and in order
    for i in range(0, len(actions), 3):
        assert [a.rsplit(".", 1)[1] for a in actions[i:i + 3]] == ["0", "1", "2"]
    with rt.unit_of_work(write=False) as s:
        assert audit.verify(s) == {"ok": True, "checked": audit.verify(s)["checked"],
                                   "first_bad_id": None}
