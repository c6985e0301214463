"""Alembic: the migrations produce exactly the models' schema; a plugin enabled later
gets its tables; `counterdesk init` upgrades and is idempotent."""
from __future__ import annotations

from sqlalchemy import inspect

import tests.testplugin as testplugin
from core import migrate
from tests.core.test_plugins import run_cli


def test_migrations_match_the_models(runtime):
    assert migrate.schema_diff(runtime) == []
    assert not migrate.pending(runtime)


def test_enabling_a_plugin_later_upgrades_its_branch(app_factory, runtime):
    assert "testplugin_note" not in inspect(runtime.db.engine).get_table_names()
    app = app_factory(plugins=(testplugin,))  # upgrades the enabled branches
    rt = app.extensions["counterdesk"]
    assert "testplugin_note" in inspect(rt.db.engine).get_table_names()
    assert migrate.schema_diff(rt) == []
    assert {"core", "testplugin"} <= set(rt.registry.migrations)  # built-in plugins add theirs


def test_a_disabled_plugins_revisions_do_not_block_upgrades(tmp_path):
    with_plugin = run_cli("init", env={"COUNTERDESK_PLUGINS": "testplugin"}, instance=tmp_path)
    assert with_plugin.returncode == 0, with_plugin.stderr
    assert "branches: core, testplugin" in with_plugin.stdout
    # the same database with the plugin switched off still upgrades and serves
    without = run_cli("init", env={"COUNTERDESK_PLUGINS": "pos"}, instance=tmp_path)
    assert without.returncode == 0, without.stderr
    back = run_cli("init", env={"COUNTERDESK_PLUGINS": "testplugin"}, instance=tmp_path)
    assert back.returncode == 0, back.stderr


def test_cli_init_creates_then_upgrades_idempotently(tmp_path):
    first = run_cli("init", instance=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Database ready" in first.stdout
    again = run_cli("init", instance=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "counterdesk.db").exists()
