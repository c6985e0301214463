"""A customer's edit reaches the plugins: ``customer_updated`` is called inside the
editing unit of work, with the previous values of what changed, only when something
did; a plugin refusing it aborts the edit."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core import Conflict, Customer, Manifest, hookimpl
from tests.conftest import ApiClient


class EditWatch:
    """Records the ``customer_updated`` calls it sees; refuses them when asked."""
    manifest = Manifest(name="editwatch", version="1", title="Edit watcher")

    def __init__(self) -> None:
        self.seen: list[tuple] = []
        self.refuse = False

    @hookimpl
    def customer_updated(self, session: Any, customer: Any, before: dict, actor: Any) -> None:
        # the change is flushed: the unit of work's own queries see it
        stored = session.scalar(select(Customer.name).where(Customer.id == customer.id))
        self.seen.append((customer.id, stored, before, actor.username))
        if self.refuse:
            raise Conflict("Renames are frozen.", code="renames_frozen")


@pytest.fixture
def watched(app_factory: Any) -> tuple[EditWatch, ApiClient]:
    from core.auth import create_user, issue_token
    from tests.conftest import PASSWORD, TEST_PASSWORD_METHOD
    watch = EditWatch()
    app = app_factory(plugins=(watch,))
    with app.extensions["counterdesk"].unit_of_work() as s:
        user = create_user(s, username="boss", password=PASSWORD, roles=["admin"], actor=None,
                           password_method=TEST_PASSWORD_METHOD)
        token = issue_token(s, user)[1]
    return watch, ApiClient(app.test_client(), token)


def test_an_edit_tells_plugins_what_changed(watched: tuple[EditWatch, ApiClient]) -> None:
    watch, api = watched
    c = api.post("customers", json={"name": "Jane Doe", "phone": "555 010 2030",
                                    "email": "jane@example.com"}).json
    r = api.patch(f"customers/{c['id']}", json={"name": "Janet Smith", "phone": "555 222 3333",
                                                 "email": "jane@example.com"})
    assert r.status_code == 200, r.json
    assert watch.seen == [(c["id"], "Janet Smith", {"name": "Jane Doe", "phone": "555 010 2030"},
                           "boss")]
    # nothing changed: nobody is told
    assert api.patch(f"customers/{c['id']}", json={"name": "Janet Smith"}).status_code == 200
    assert api.patch(f"customers/{c['id']}", json={}).status_code == 200
    assert len(watch.seen) == 1


def test_a_refusing_plugin_aborts_the_edit(watched: tuple[EditWatch, ApiClient]) -> None:
    watch, api = watched
    c = api.post("customers", json={"name": "Jane Doe"}).json
    watch.refuse = True
    r = api.patch(f"customers/{c['id']}", json={"name": "Janet Smith"})
    assert r.status_code == 409 and r.json["error"]["code"] == "renames_frozen"
    assert api.get(f"customers/{c['id']}").json["name"] == "Jane Doe"
    assert api.get("customers", query_string={"q": "janet"}).json["total"] == 0
    audit = api.get("audit", query_string={"action": "customer.updated"}).json["items"]
    assert audit == []


def test_a_merge_is_not_reported_as_an_edit(watched: tuple[EditWatch, ApiClient]) -> None:
    watch, api = watched
    keep = api.post("customers", json={"name": "Jane Doe"}).json
    dup = api.post("customers", json={"name": "J. Doe", "email": "jane@example.com"}).json
    assert api.post(f"customers/{keep['id']}/merge", json={"from_id": dup["id"]}).status_code == 200
    assert watch.seen == []
