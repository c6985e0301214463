"""A repair-only shop runs without pos: the app starts and the records API works."""
from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_app_without_pos(app_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERDESK_PLUGINS", "devices")
    app = app_factory()
    rt = app.extensions["counterdesk"]
    assert not rt.plugins.is_enabled("pos")
    from core.auth import create_user, issue_token
    from tests.conftest import TEST_PASSWORD_METHOD
    with rt.unit_of_work() as s:
        user = create_user(s, username="boss", password="correct horse battery", roles=["admin"],
                           actor=None, password_method=TEST_PASSWORD_METHOD)
        _t, token = issue_token(s, user)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/customers", json={"name": "Bo Repair", "phone": "555 0199"},
                       headers=headers)
    assert made.status_code == 201, made.json
    assert client.get("/api/v1/customers?q=555", headers=headers).json["total"] == 1
    assert client.get("/api/v1/pos/sales", headers=headers).status_code == 404
    assert "pos" not in {p["name"] for p in client.get("/api/v1/plugins", headers=headers).json
                         if p["enabled"]}
    assert rt.hook.ring_up(session=None, actor=None, pos_session_id=1, customer_id=None, lines=[],
                           payments=[], ticket_id=None, note="") is None
    assert "/pos/" not in client.get("/", headers=headers).get_data(as_text=True)


def test_the_demo_shop_has_a_register_ready_at_the_store(runtime, api):
    from sqlalchemy import select

    from core import Location
    from core.cli import load_demo_data
    from core.models import User
    from plugins.pos.models import Register
    for _ in range(2):  # idempotent
        with runtime.unit_of_work() as s:
            load_demo_data(runtime, s, s.scalar(select(User).where(User.username == "root")))
    with runtime.unit_of_work(write=False) as s:
        registers = s.scalars(select(Register)).all()
        assert [r.name for r in registers] == ["Counter 1"]
        assert s.get(Location, registers[0].location_id).kind == "store"
