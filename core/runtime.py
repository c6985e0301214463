"""The runtime: configuration, database and enabled plugins, with everything they
registered. Web requests, jobs and CLI commands share it; none of it needs Flask."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from core.config import Config
from core.db import Database
from core.errors import PluginError
from core.plugins import PluginSet
from core.types import AttachmentTarget, Job, MenuItem, MigrationBranch, Permission, Report, Setting


@dataclass
class Registry:
    permissions: dict[str, Permission] = field(default_factory=dict)
    permission_owner: dict[str, str] = field(default_factory=dict)
    menu_items: list[MenuItem] = field(default_factory=list)
    reports: dict[str, Report] = field(default_factory=dict)
    report_owner: dict[str, str] = field(default_factory=dict)
    settings: dict[str, dict[str, Setting]] = field(default_factory=lambda: defaultdict(dict))
    jobs: dict[str, Job] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)       # table name -> plugin
    migrations: dict[str, MigrationBranch] = field(default_factory=dict)
    commands: list[tuple[str, Any]] = field(default_factory=list)
    attachment_targets: dict[str, AttachmentTarget] = field(default_factory=dict)

    @classmethod
    def build(cls, plugins: PluginSet) -> "Registry":
        reg = cls()
        for plugin, perm in plugins.collect("register_permissions"):
            if perm.name in reg.permissions:
                raise PluginError(f"permission {perm.name!r} is declared by both "
                                  f"{reg.permission_owner[perm.name]!r} and {plugin!r}")
            if not perm.name.startswith(plugin + "."):
                raise PluginError(f"plugin {plugin!r} declares permission {perm.name!r}: "
                                  f"its permissions must start with '{plugin}.'")
            reg.permissions[perm.name] = perm
            reg.permission_owner[perm.name] = plugin
        seen_menu: dict[str, str] = {}
        for plugin, item in plugins.collect("register_menu_items"):
            if item.key in seen_menu:
                raise PluginError(f"menu item {item.key!r} is declared by both "
                                  f"{seen_menu[item.key]!r} and {plugin!r}")
            reg._check_permission(plugin, item.permission, f"menu item {item.key!r}")
            seen_menu[item.key] = plugin
            reg.menu_items.append(item)
        reg.menu_items.sort(key=lambda m: (m.order, m.title))
        for plugin, report in plugins.collect("register_reports"):
            if report.name in reg.reports:
                raise PluginError(f"report {report.name!r} is declared by both "
                                  f"{reg.report_owner[report.name]!r} and {plugin!r}")
            reg._check_permission(plugin, report.permission, f"report {report.name!r}")
            reg.reports[report.name] = report
            reg.report_owner[report.name] = plugin
        for plugin, setting in plugins.collect("register_settings"):
            if setting.key in reg.settings[plugin]:
                raise PluginError(f"plugin {plugin!r} declares setting {setting.key!r} twice")
            reg.settings[plugin][setting.key] = setting
        job_owner: dict[str, str] = {}
        for plugin, job in plugins.collect("register_jobs"):
            if job.name in reg.jobs:
                raise PluginError(f"job {job.name!r} is declared by both "
                                  f"{job_owner[job.name]!r} and {plugin!r}")
            reg.jobs[job.name] = job
            job_owner[job.name] = plugin
        for plugin, model in plugins.collect("register_models"):
            table = getattr(model, "__table__", model).name  # a model class or a Table
            if table in reg.tables and reg.tables[table] != plugin:
                raise PluginError(f"table {table!r} is claimed by both {reg.tables[table]!r} "
                                  f"and {plugin!r}")
            if plugin != "core" and not table.startswith(plugin + "_"):
                raise PluginError(f"plugin {plugin!r} declares table {table!r}: its tables "
                                  f"must be named '{plugin}_<entity>'")
            reg.tables[table] = plugin
        for plugin, branch in plugins.collect("register_migrations"):
            if branch.label != plugin:
                raise PluginError(f"plugin {plugin!r} declares migration branch {branch.label!r}")
            reg.migrations[plugin] = branch
        reg.commands = list(plugins.collect("register_commands"))
        target_owner: dict[str, str] = {}
        for plugin, target in plugins.collect("register_attachment_targets"):
            what = f"attachment record type {target.record_type!r}"
            if target.record_type in reg.attachment_targets:
                raise PluginError(f"{what} is declared by both "
                                  f"{target_owner[target.record_type]!r} and {plugin!r}")
            reg._check_permission(plugin, target.view_permission, what)
            reg._check_permission(plugin, target.attach_permission, what)
            reg.attachment_targets[target.record_type] = target
            target_owner[target.record_type] = plugin
        return reg

    def _check_permission(self, plugin: str, name: str | None, what: str) -> None:
        if name is not None and name not in self.permissions:
            raise PluginError(f"plugin {plugin!r}: {what} needs permission {name!r}, "
                              "which no enabled plugin declares")


class Runtime:
    """Config + database + plugins + registry. One per process (per app in tests)."""

    def __init__(self, config: Config, extra_plugins: Iterable[Any] = ()) -> None:
        self.config = config
        config.ensure_instance()
        self.plugins = PluginSet(config.plugins, extra_plugins)
        self.registry = Registry.build(self.plugins)
        self.db = Database(config.database_url)
        self.hook = self.plugins.pm.hook
        self._jobs_runner: Any = None
        from core.auth import PermissionCache
        self.permission_cache = PermissionCache(self.registry.permissions)

    def unit_of_work(self, *, write: bool = True):  # noqa: ANN201 - context manager
        from core.db import unit_of_work
        return unit_of_work(self.db, write=write)

    def permissions_of(self, user: Any) -> set[str]:
        from core.auth import permissions_of
        return permissions_of(user, self.registry.permissions, self.permission_cache)

    def close(self) -> None:
        if self._jobs_runner is not None:
            self._jobs_runner.stop()
        self.db.dispose()


_current: Runtime | None = None


def set_current(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    """The process's runtime; a worker process builds one from the environment."""
    global _current
    try:
        from flask import current_app, has_app_context
        if has_app_context() and "counterdesk" in current_app.extensions:
            return current_app.extensions["counterdesk"]
    except ImportError:  # pragma: no cover
        pass
    if _current is None:
        _current = Runtime(Config.load())
    return _current


def on_runtime(fn: Callable[[Runtime], Any]) -> Any:
    return fn(current())
