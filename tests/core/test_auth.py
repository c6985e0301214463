"""Permissions on every route, 401/403, tokens, throttling, password hashing, CSRF, and
revocations and grant changes counting from the next request in every process."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.auth import PUBLIC, declared_permission
from core.models import AuditEntry, User
from tests.conftest import PASSWORD


def _log_in(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 302


def test_every_route_declares_a_permission_or_is_public(app):
    undeclared = [rule.rule for rule in app.url_map.iter_rules()
                  if declared_permission(app.view_functions[rule.endpoint]) is None]
    assert undeclared == []


def test_a_route_without_declaration_stops_startup(app_factory):
    from flask import Blueprint

    from core import hookimpl
    from core.errors import PluginError
    from core.types import Manifest

    bp = Blueprint("sloppy", __name__)
    bp.add_url_rule("/sloppy", "open", lambda: "oops")

    class Sloppy:
        manifest = Manifest("sloppy", "1", "Sloppy")

        @hookimpl
        def register_blueprints(self):
            return [bp]
    with pytest.raises(PluginError, match="/sloppy"):
        app_factory(plugins=(Sloppy(),))


def _api_routes(app):
    """(method, url) of every non-public API route, with ids filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        perm = declared_permission(view)
        if not rule.rule.startswith("/api/") or perm == PUBLIC:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "1" if "id" in m.group(1) else "core", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, url, perm))
    return out


def test_no_login_gets_401_on_every_api_route(app, client):
    routes = _api_routes(app)
    assert len(routes) > 15
    for method, url, _perm in routes:
        r = client.open(url, method=method, json={})
        assert r.status_code == 401, (method, url, r.status_code)
        assert r.json["error"]["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_role_without_the_permission_gets_403(app, client, api_as):
    reader = api_as("read_only")
    from core.auth import SIGNED_IN
    checked = 0
    for method, url, perm in _api_routes(app):
        if perm == SIGNED_IN:
            continue
        granted = perm in reader.get("me").json["permissions"]
        if granted:
            continue
        r = reader.client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {reader.token}"})
        assert r.status_code == 403, (method, url, r.status_code, r.json)
        assert r.json["error"]["fields"]["permission"] == perm
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("role,allowed", [("admin", True), ("owner", True), ("cashier", False),
                                          ("technician", False), ("read_only", False)])
def test_user_administration_by_role(api_as, role, allowed):
    client = api_as(role)
    r = client.post("users", json={"username": f"new_{role}", "password": "long enough pw",
                                   "roles": ["cashier"]})
    assert r.status_code == (201 if allowed else 403)


def test_admin_can_change_grants_and_they_take_effect(api, api_as):
    tech = api_as("technician")
    assert tech.get("audit").status_code == 403
    perms = next(r for r in api.get("roles").json if r["name"] == "technician")["permissions"]
    r = api.put("roles/technician/permissions", json={"permissions": perms + ["core.audit.view"]})
    assert r.status_code == 200 and "core.audit.view" in r.json["permissions"]
    assert tech.get("audit").status_code == 200
    entry = api.get("audit?action=role.permissions_changed").json["items"][0]
    assert "core.audit.view" in entry["after"]["permissions"]
    assert "core.audit.view" not in entry["before"]["permissions"]
    bad = api.put("roles/technician/permissions", json={"permissions": ["core.nope.x"]})
    assert bad.status_code == 422


def test_tokens_are_stored_hashed_and_revocable(api, client, app):
    r = client.post("/api/v1/auth/tokens", json={"username": "root", "password": PASSWORD, "name": "laptop"})
    token = r.json["token"]
    rt = app.extensions["counterdesk"]
    from core.models import ApiToken
    with rt.unit_of_work(write=False) as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{r.json['id']}", headers=auth).status_code == 200
    after = client.get("/api/v1/me", headers=auth)
    assert after.status_code == 401


def test_bad_credentials_are_401_and_repeated_failures_throttled_and_audited(api, client, app):
    for _ in range(5):
        r = client.post("/api/v1/auth/tokens", json={"username": "root", "password": "wrong"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/tokens", json={"username": "root", "password": PASSWORD})
    assert r.status_code == 429  # even the right password waits now
    assert int(r.headers["Retry-After"]) > 0
    actions = [e["action"] for e in api.get("audit?per_page=200").json["items"]]
    assert actions.count("auth.login_failed") == 5
    assert actions.count("auth.login_throttled") == 1
    # another user is not locked out by root's failures
    assert client.post("/api/v1/auth/tokens", json={"username": "nobody", "password": "x"}).status_code == 401


def test_production_password_hash_is_scrypt_at_owasp_cost():
    from core.auth import hash_password
    from core.config import Config
    method = Config().password_method
    assert method == "scrypt:131072:8:1"
    assert hash_password("a fine password", method).startswith("scrypt:131072:8:1$")


def test_cookie_authenticated_api_writes_need_csrf(app, client, make_user):
    make_user("admin", username="boss", password=PASSWORD)
    _log_in(client, "boss")
    assert client.get("/api/v1/me").status_code == 200  # the session works for reads
    no_csrf = client.put("/api/v1/settings/core", json={"values": {"shop_name": "X"}})
    assert no_csrf.status_code == 400 and no_csrf.json["error"]["code"] == "csrf_failed"
    fresh = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    ok = client.put("/api/v1/settings/core", json={"values": {"shop_name": "X"}},
                    headers={"X-CSRFToken": fresh})
    assert ok.status_code == 200


def test_password_change_signs_the_user_out_of_browsers(app, client, api, make_user):
    uid, _ = make_user("cashier", username="till1", password=PASSWORD)
    _log_in(client, "till1")
    assert client.get("/api/v1/me").status_code == 200
    assert api.patch(f"users/{uid}", json={"password": "a brand new one"}).status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_cli_users_create_with_password_stdin(tmp_path):
    from tests.core.test_plugins import run_cli
    env = {"COUNTERDESK_PLUGINS": "pos"}
    assert run_cli("init", env=env, instance=tmp_path).returncode == 0
    r = run_cli("users", "create", "maria", "--role", "cashier", "--password-stdin",
                env=env, instance=tmp_path, input="a long password\n")
    assert r.returncode == 0, r.stderr
    assert "Created user maria" in r.stdout
    dup = run_cli("users", "create", "maria", "--role", "cashier", "--password-stdin",
                  env=env, instance=tmp_path, input="a long password\n")
    assert dup.returncode != 0 and "already exists" in dup.stderr
    bad = run_cli("users", "create", "li", "--role", "wizard", "--password-stdin",
                  env=env, instance=tmp_path, input="a long password\n")
    assert bad.returncode != 0 and "unknown: wizard" in bad.stderr
    listing = run_cli("users", "list", env=env, instance=tmp_path).stdout
    assert "maria\tcashier\tactive" in listing


def test_users_created_through_api_are_audited(api, app):
    r = api.post("users", json={"username": "sam", "password": "long enough pw", "roles": ["technician"]})
    assert r.status_code == 201
    with app.extensions["counterdesk"].unit_of_work(write=False) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.created")
                          .order_by(AuditEntry.id.desc())).first()
        root = s.scalar(select(User).where(User.username == "root"))
    assert entry.after == {"username": "sam", "roles": ["technician"]}
    assert entry.actor_id == root.id


def test_a_plugin_blueprints_static_files_are_public(app_factory, tmp_path):
    """A plugin blueprint with a static folder starts (its ``<bp>.static`` route is
    public, like the app's own) and serves its files to anyone, signed in or not."""
    from flask import Blueprint

    from core import hookimpl, require
    from core.types import Manifest

    static = tmp_path / "static"
    static.mkdir()
    (static / "shelf.css").write_text("body { color: teal; }\n", encoding="utf-8")
    bp = Blueprint("shelf", __name__, url_prefix="/shelf", static_folder=str(static))
    bp.add_url_rule("/", "index", require("core.users.manage")(lambda: "private"))

    class Shelf:
        manifest = Manifest("shelf", "1", "Shelf")

        @hookimpl
        def register_blueprints(self):
            return [bp]
    app = app_factory(plugins=(Shelf(),))
    assert declared_permission(app.view_functions["shelf.static"]) == PUBLIC
    client = app.test_client()
    with app.test_request_context():
        from flask import url_for
        url = url_for("shelf.static", filename="shelf.css")
    resp = client.get(url)
    assert resp.status_code == 200 and b"color: teal" in resp.data
    resp.close()
    assert client.get("/shelf/").status_code == 302       # the blueprint's pages still need a login
    assert client.get("/shelf/static/missing.css").status_code == 404


# ------------------------------------------- sign-in takes effect everywhere at once
#
# Signing in caches, per process, the permissions of each combination of roles for one
# grants version (read in the sign-in statement). ``elsewhere`` is a second app on the
# same database, as another server process would be: its own engine, connections and
# cache, warmed before each change is made through the first app.

def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def elsewhere(app, app_factory):
    return app_factory().test_client()


def test_a_revoked_token_is_refused_at_once_by_another_process(api, make_user, elsewhere):
    _uid, token = make_user("cashier")
    assert elsewhere.get("/api/v1/customers", headers=_bearer(token)).status_code == 200
    token_id = elsewhere.get("/api/v1/auth/tokens", headers=_bearer(token)).json[0]["id"]
    assert api.delete(f"auth/tokens/{token_id}").status_code == 200
    assert elsewhere.get("/api/v1/customers", headers=_bearer(token)).status_code == 401


def test_an_expired_token_is_refused(runtime, make_user, client):
    import datetime as dt

    from sqlalchemy import update

    from core.db import utcnow
    from core.models import ApiToken
    uid, token = make_user("cashier")
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    with runtime.unit_of_work() as s:
        s.execute(update(ApiToken).where(ApiToken.user_id == uid)
                  .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_a_deactivated_user_is_refused_at_once_by_another_process(api, make_user, elsewhere):
    uid, token = make_user("cashier")
    assert elsewhere.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    assert api.patch(f"users/{uid}", json={"active": False}).status_code == 200
    assert elsewhere.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_a_role_taken_from_a_user_counts_at_once_in_another_process(api, make_user, elsewhere):
    uid, token = make_user("manager")
    assert elsewhere.get("/api/v1/users", headers=_bearer(token)).status_code == 200
    assert api.get("users").status_code == 200   # both processes' caches are warm
    assert api.patch(f"users/{uid}", json={"roles": ["cashier"]}).status_code == 200
    assert elsewhere.get("/api/v1/users", headers=_bearer(token)).status_code == 403
    assert elsewhere.get("/api/v1/customers", headers=_bearer(token)).status_code == 200
    assert api.patch(f"users/{uid}", json={"roles": []}).status_code == 200
    assert elsewhere.get("/api/v1/customers", headers=_bearer(token)).status_code == 403
    assert elsewhere.get("/api/v1/me", headers=_bearer(token)).json["permissions"] == []


def test_a_grant_taken_from_a_role_counts_at_once_in_another_process(api, make_user, elsewhere):
    _uid, token = make_user("manager")
    _other, colleague = make_user("manager")
    assert elsewhere.get("/api/v1/users", headers=_bearer(token)).status_code == 200
    perms = next(r for r in api.get("roles").json if r["name"] == "manager")["permissions"]
    fewer = [p for p in perms if p != "core.users.view"]
    assert api.put("roles/manager/permissions", json={"permissions": fewer}).status_code == 200
    for who in (token, colleague):
        assert elsewhere.get("/api/v1/users", headers=_bearer(who)).status_code == 403
    assert api.put("roles/manager/permissions", json={"permissions": perms}).status_code == 200
    assert elsewhere.get("/api/v1/users", headers=_bearer(token)).status_code == 200


def test_a_grant_removed_by_hand_written_sql_counts_at_once(runtime, make_user, elsewhere):
    """The grants version is kept by database triggers, so no writer can forget it."""
    from sqlalchemy import text
    _uid, token = make_user("manager")
    assert elsewhere.get("/api/v1/users", headers=_bearer(token)).status_code == 200
    with runtime.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM role_permissions WHERE permission = 'core.users.view' "
                          "AND role_id = (SELECT id FROM roles WHERE name = 'manager')"))
    assert elsewhere.get("/api/v1/users", headers=_bearer(token)).status_code == 403


def test_browser_sessions_follow_revocation_and_grants_at_once_in_another_process(
        api, make_user, elsewhere):
    uid, _token = make_user("manager", username="desk1")
    _log_in(elsewhere, "desk1")
    assert elsewhere.get("/api/v1/users").status_code == 200
    perms = next(r for r in api.get("roles").json if r["name"] == "manager")["permissions"]
    fewer = [p for p in perms if p != "core.users.view"]
    assert api.put("roles/manager/permissions", json={"permissions": fewer}).status_code == 200
    assert elsewhere.get("/api/v1/users").status_code == 403
    assert api.post(f"users/{uid}/revoke-sessions").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code == 401


def test_a_rolled_back_grant_change_leaves_no_stale_permissions(runtime, make_user, client):
    """A cache filled inside a transaction that changed grants and then rolled back can
    never match a later version: the database never hands out a version twice."""
    from sqlalchemy import text

    from core.auth import set_role_permissions, user_for_token
    from core.models import GrantsVersion
    _uid, token = make_user("manager")
    assert client.get("/api/v1/users", headers=_bearer(token)).status_code == 200
    with pytest.raises(RuntimeError), runtime.unit_of_work() as s:
        user = user_for_token(s, token, runtime.permission_cache)
        perms = sorted(runtime.permissions_of(user) - {"core.users.view"})
        set_role_permissions(s, "manager", perms, runtime.registry.permissions, user)
        again = user_for_token(s, token, runtime.permission_cache)   # fills the cache
        assert "core.users.view" not in runtime.permissions_of(again)
        uncommitted = s.scalar(select(GrantsVersion.version))
        raise RuntimeError("roll back")
    assert client.get("/api/v1/users", headers=_bearer(token)).status_code == 200
    with runtime.db.engine.begin() as conn:   # some later change, committed
        conn.execute(text("UPDATE roles SET title = 'Store manager' WHERE name = 'manager'"))
        assert conn.scalar(select(GrantsVersion.version)) != uncommitted
    assert client.get("/api/v1/users", headers=_bearer(token)).status_code == 200


def test_grant_changes_count_for_the_signed_in_user_within_the_same_unit_of_work(runtime,
                                                                                make_user):
    from core.auth import set_role_permissions, user_for_token
    _uid, token = make_user("manager")
    with runtime.unit_of_work() as s:
        user = user_for_token(s, token, runtime.permission_cache)
        assert "core.users.view" in runtime.permissions_of(user)
        perms = sorted(runtime.permissions_of(user) - {"core.users.view"})
        set_role_permissions(s, "manager", perms, runtime.registry.permissions, user)
        assert "core.users.view" not in runtime.permissions_of(user)
        user.roles = []
        assert runtime.permissions_of(user) == set()


def test_a_warm_sign_in_is_one_statement(runtime, make_user):
    """The token, the user, their role ids and the grants version in one SELECT; the
    roles' permissions come from the process's cache."""
    from sqlalchemy import event

    from core.auth import user_for_token
    _uid, token = make_user("cashier")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)
    with runtime.unit_of_work(write=False) as s:
        user_for_token(s, token, runtime.permission_cache)   # fills the cache
    event.listen(runtime.db.engine, "before_cursor_execute", count)
    try:
        with runtime.unit_of_work(write=False) as s:
            user = user_for_token(s, token, runtime.permission_cache)
            assert "core.customers.view" in runtime.permissions_of(user)
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements


def test_the_signed_in_actor_is_a_user_of_the_request_session(app_factory, make_user):
    """Plugins get a ``User`` in the request's session: its columns are loaded, its
    relationships load when touched, and it can be changed and flushed."""
    from flask import Blueprint, g

    from core import hookimpl, signed_in
    from core.types import Manifest
    bp = Blueprint("probe", __name__, url_prefix="/api/v1/probe")

    @bp.post("/")
    @signed_in
    def probe():
        actor = g.actor
        assert isinstance(actor, User) and actor in g.session
        assert g.session.get(User, actor.id) is actor
        actor.display_name = "Changed by a plugin"
        g.session.flush()
        return {"username": actor.username, "roles": actor.role_names,
                "created": actor.created_at.isoformat(),
                "permissions": sorted(g.runtime.permissions_of(actor))}

    class Probe:
        manifest = Manifest("probe", "1", "Probe")

        @hookimpl
        def register_blueprints(self):
            return [bp]
    client = app_factory(plugins=(Probe(),)).test_client()
    uid, token = make_user("cashier", username="probed")
    r = client.post("/api/v1/probe/", headers=_bearer(token))
    assert r.status_code == 200, r.json
    assert r.json["username"] == "probed" and r.json["roles"] == ["cashier"]
    assert "core.customers.view" in r.json["permissions"]
    me = client.get("/api/v1/me", headers=_bearer(token)).json
    assert me["user"]["display_name"] == "Changed by a plugin"


def test_a_role_named_twice_is_granted_once(api):
    resp = api.post("users", json={"username": "twice", "password": "long enough pw 1",
                                   "display_name": "Twice", "roles": ["cashier", "cashier"]})
    assert resp.status_code == 201, resp.json
    assert resp.json["roles"] == ["cashier"]
    resp = api.patch(f"users/{resp.json['id']}", json={"roles": ["technician", "technician"]})
    assert resp.status_code == 200, resp.json
    assert resp.json["roles"] == ["technician"]
