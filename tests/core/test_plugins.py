"""Plugin discovery, dependency resolution, and every hook family end to end through
the test suite's own plugin (tests/testplugin)."""
from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

import tests.testplugin as testplugin
from core.errors import PluginError
from core.plugins import PluginSet, resolve
from core.types import Manifest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "tests" / "testplugin_dist"
CLI = str(Path(sys.executable).with_name("counterdesk"))


def run_cli(*args: str, env: dict | None = None, input: str | None = None, instance: Path | None = None):
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(DIST)])
    e.pop("COUNTERDESK_PLUGINS", None)
    if instance is not None:
        e["COUNTERDESK_INSTANCE"] = str(instance)
    e.update(env or {})
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=e, input=input, timeout=120)


class FakeEP:
    def __init__(self, name: str, manifest: Manifest) -> None:
        self.name, self.value, self.manifest = name, f"fake.{name}", manifest


def _resolve(selection, manifests):
    eps = {m.name: FakeEP(m.name, m) for m in manifests}
    return resolve(selection, eps, {m.name: m for m in manifests})


# ------------------------------------------------------------- resolution

def test_requirements_are_enabled_and_ordered_first():
    a = Manifest("a", "1", "A", requires=("b",))
    b = Manifest("b", "1", "B", requires=("c",))
    c = Manifest("c", "1", "C")
    order, reasons = _resolve(["a"], [a, b, c])
    assert [m.name for m in order] == ["c", "b", "a"]
    assert reasons == {"a": "listed in COUNTERDESK_PLUGINS", "b": "required by a", "c": "required by b"}


def test_missing_requirement_names_it():
    a = Manifest("a", "1", "A", requires=("ghost",))
    with pytest.raises(PluginError, match="plugin 'a' requires 'ghost', which is not installed"):
        _resolve(["a"], [a])


def test_cycle_names_it():
    a = Manifest("a", "1", "A", requires=("b",))
    b = Manifest("b", "1", "B", requires=("a",))
    with pytest.raises(PluginError, match="cycle: a -> b -> a"):
        _resolve(["a"], [a, b])


def test_unknown_plugin_in_selection_is_named():
    with pytest.raises(PluginError, match="'nosuch', which is not installed"):
        PluginSet("pos,nosuch")


def test_builtins_are_entry_points_like_third_party_plugins():
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="counterdesk.plugins")}
    for name in ("pos", "repairs", "warranty", "purchasing", "subcontract", "notifications", "devices"):
        assert eps[name] == f"plugins.{name}"


def test_selection_enables_requirements_and_never_imports_disabled_plugins():
    code = (
        "import sys; from core.plugins import PluginSet; ps = PluginSet('subcontract');"
        "print(','.join(ps.names));"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('plugins.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.splitlines()
    assert out[0] == "core,repairs,subcontract"
    imported = set(out[1].split(","))
    assert imported == {"plugins.repairs", "plugins.repairs.hooks", "plugins.subcontract",
                        "plugins.subcontract.hooks"}


def test_cli_plugins_lists_version_state_requirements_and_why():
    res = run_cli("plugins", env={"COUNTERDESK_PLUGINS": "subcontract,testplugin"})
    assert res.returncode == 0, res.stderr
    lines = {line.split("│")[1].strip(): line for line in res.stdout.splitlines() if line.count("│") > 3}
    assert "required by subcontract" in lines["repairs"] and " yes " in lines["repairs"]
    assert "listed in COUNTERDESK_PLUGINS" in lines["subcontract"]
    assert " no " in lines["pos"] and "not selected" in lines["pos"]
    # the third-party plugin installed by entry point is an equal citizen
    assert "counterdesk-testplugin" in lines["testplugin"] and "0.1.0" in lines["testplugin"]


def test_missing_requirement_stops_startup_with_a_message(tmp_path):
    res = run_cli("init", env={"COUNTERDESK_PLUGINS": "pos,ghost"}, instance=tmp_path)
    assert res.returncode != 0
    assert "'ghost', which is not installed" in res.stderr


# ------------------------------------------------------- hook families

@pytest.fixture
def tp_app(app_factory):
    return app_factory(plugins=(testplugin,))


@pytest.fixture
def tp_api(tp_app):
    from core.auth import create_user, issue_token
    from tests.conftest import TEST_PASSWORD_METHOD, ApiClient
    rt = tp_app.extensions["counterdesk"]
    with rt.unit_of_work() as s:
        user = create_user(s, username="boss", password="long enough pw", roles=["admin"],
                           actor=None, password_method=TEST_PASSWORD_METHOD)
        _t, token = issue_token(s, user)
    return ApiClient(tp_app.test_client(), token)


def test_registration_hooks_add_routes_permissions_menu_reports_settings_jobs(tp_app, tp_api):
    rt = tp_app.extensions["counterdesk"]
    assert rt.registry.permission_owner["testplugin.note.create"] == "testplugin"
    assert any(m.key == "testplugin-notes" for m in rt.registry.menu_items)
    assert "testplugin.echo" in rt.registry.jobs
    assert rt.registry.tables["testplugin_note"] == "testplugin"
    r = tp_api.post("testplugin/notes", json={"body": "first"})
    assert r.status_code == 201, r.json
    rt._jobs_runner.wait_idle()
    bodies = [n["body"] for n in tp_api.get("testplugin/notes").json]
    assert bodies[:2] == ["first", f"echo of {r.json['id']}"]  # the job ran after commit
    reports = tp_api.get("reports").json["items"]
    assert {"name": "testplugin.notes_by_kind", "plugin": "testplugin"}.items() <= \
        next(x for x in reports if x["name"] == "testplugin.notes_by_kind").items()
    rep = tp_api.get("reports/testplugin.notes_by_kind?min_length=1").json
    assert dict((row[0], row[1]) for row in rep["rows"]) == {"echo": 1, "note": 1}
    assert rep["chart"] == {"kind": "bar", "x": "kind", "y": ["count"]}
    settings = {p["plugin"]: p for p in tp_api.get("settings").json["items"]}
    assert settings["testplugin"]["settings"][0]["default"] == "60.00"


def test_plugin_default_grants_reach_roles(tp_app, tp_api):
    roles = {r["name"]: r for r in tp_api.get("roles").json}
    assert "testplugin.note.create" in roles["cashier"]["permissions"]
    assert "testplugin.note.create" not in roles["read_only"]["permissions"]
    assert "testplugin.note.view" in roles["read_only"]["permissions"]


def test_domain_hook_runs_inside_the_unit_of_work(tp_app, tp_api):
    from tests.testplugin.models import Note
    rt = tp_app.extensions["counterdesk"]
    ok = tp_api.post("users", json={"username": "welcomed", "password": "long enough pw",
                                    "roles": ["cashier"]})
    assert ok.status_code == 201
    rejected = tp_api.post("users", json={"username": "rejectme", "password": "long enough pw",
                                          "roles": ["cashier"]})
    assert rejected.status_code == 422
    assert rejected.json["error"]["fields"] == {"username": ["rejected"]}
    with rt.unit_of_work(write=False) as s:
        bodies = set(s.scalars(select(Note.body)))
        usernames = set(s.scalars(select(__import__("core.models", fromlist=["User"]).User.username)))
    assert "welcome welcomed" in bodies
    assert "rejectme" not in usernames and "welcome rejectme" not in bodies  # all rolled back


def test_contribution_hooks_feed_search_and_dashboard(tp_app, tp_api):
    tp_api.post("testplugin/notes", json={"body": "bike bell"})
    tp_api.post("testplugin/notes", json={"body": "bike"})
    res = tp_api.get("search?q=bike").json["results"]
    assert [r["title"] for r in res][:1] == ["bike"]  # exact match ranks first
    assert {"bike bell"} <= {r["title"] for r in res}
    rt = tp_app.extensions["counterdesk"]
    rt._jobs_runner.wait_idle()
    from core.models import User
    with rt.unit_of_work(write=False) as s:
        boss = s.scalar(select(User).where(User.username == "boss"))
        cards = [c for batch in rt.hook.dashboard_cards(session=s, actor=boss) for c in batch]
    assert [c.body for c in cards if c.key == "testplugin"] == ["4 notes"]  # 2 notes + 2 echoes


def test_plugin_cli_command_and_demo_hook(tmp_path):
    env = {"COUNTERDESK_PLUGINS": "testplugin", "COUNTERDESK_DEMO_PASSWORD": "demo password 1"}
    assert run_cli("init", env=env, instance=tmp_path).returncode == 0
    demo = run_cli("demo", env=env, instance=tmp_path)
    assert demo.returncode == 0, demo.stderr
    out = run_cli("testplugin-hello", "shop", env=env, instance=tmp_path)
    assert out.returncode == 0, out.stderr
    # demo loaded one demo note; user_created added a welcome note per demo user
    assert out.stdout.strip() == "hello shop, 9 notes"


def test_disabling_a_plugin_removes_its_routes_and_menus(app_factory):
    app = app_factory()
    urls = {r.rule for r in app.url_map.iter_rules()}
    assert not any(u.startswith("/api/v1/testplugin") for u in urls)
    assert not any(m.key == "testplugin-notes" for m in app.extensions["counterdesk"].registry.menu_items)


def test_duplicate_permission_is_refused(app_factory):
    from core import Permission, hookimpl

    class Dup:
        manifest = Manifest("dup", "1", "Dup")

        @hookimpl
        def register_permissions(self):
            return [Permission("core.users.manage", "steal")]
    with pytest.raises(PluginError, match="core.users.manage"):
        app_factory(plugins=(Dup(),))


def test_hookimpl_matching_no_spec_is_refused(app_factory):
    from core import hookimpl

    class Typo:
        manifest = Manifest("typo", "1", "Typo")

        @hookimpl
        def register_permission(self):  # missing 's'
            return []
    with pytest.raises(Exception, match="register_permission"):
        app_factory(plugins=(Typo(),))
