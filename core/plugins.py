"""Plugin discovery, manifests, dependency resolution and the plugin manager.

Plugins are found through the entry-point group ``counterdesk.plugins``; each entry
point names a package whose ``__init__`` holds only its :class:`~core.types.Manifest`.
``COUNTERDESK_PLUGINS`` (comma list; unset or ``all`` means every installed plugin)
chooses what is enabled; what an enabled plugin requires is enabled too. Only the
manifests of the enabled set are read when the app starts, and only enabled plugins'
code (hooks, models, views) is ever imported.
"""
from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Iterable, Iterator

import pluggy

from core import hookspecs
from core.errors import PluginError
from core.types import Manifest

GROUP = "counterdesk.plugins"
hookimpl = pluggy.HookimplMarker("counterdesk")


@dataclass(frozen=True)
class PluginInfo:
    manifest: Manifest
    module: str            # the package the entry point names
    enabled: bool
    reason: str            # why it is on (or off)
    distribution: str | None = None

    @property
    def name(self) -> str:
        return self.manifest.name


def installed_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    eps: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        if ep.name in eps and eps[ep.name].value != ep.value:
            raise PluginError(f"two installed plugins are named {ep.name!r}: "
                              f"{eps[ep.name].value} and {ep.value}")
        eps[ep.name] = ep
    return eps


def load_manifest(ep: importlib.metadata.EntryPoint) -> Manifest:
    module = importlib.import_module(ep.value)
    manifest = getattr(module, "manifest", None)
    if not isinstance(manifest, Manifest):
        raise PluginError(f"plugin {ep.name!r} ({ep.value}) has no manifest")
    if manifest.name != ep.name:
        raise PluginError(f"plugin entry point {ep.name!r} declares the name {manifest.name!r}")
    return manifest


def parse_selection(value: str | None) -> list[str] | None:
    """``None`` means every installed plugin."""
    if value is None or value.strip().lower() in ("", "all", "*"):
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    return [] if names == ["none"] else names


def resolve(requested: list[str] | None,
            eps: dict[str, importlib.metadata.EntryPoint],
            manifests: dict[str, Manifest] | None = None) -> tuple[list[Manifest], dict[str, str]]:
    """Expand ``requested`` by requirements and order it so that each plugin comes
    after what it requires. Returns the ordered manifests and why each is enabled.

    Raises :class:`PluginError` naming an unknown plugin, a missing requirement or a
    dependency cycle.
    """
    manifests = {} if manifests is None else manifests
    reasons: dict[str, str] = {}
    if requested is None:
        requested = sorted(eps)
        for name in requested:
            reasons[name] = "enabled by default (all installed plugins)"
    else:
        for name in requested:
            if name not in eps:
                raise PluginError(f"COUNTERDESK_PLUGINS names {name!r}, which is not installed "
                                  f"(installed: {', '.join(sorted(eps)) or 'none'})")
            reasons[name] = "listed in COUNTERDESK_PLUGINS"

    def manifest_of(name: str) -> Manifest:
        if name not in manifests:
            manifests[name] = load_manifest(eps[name])
        return manifests[name]

    order: list[Manifest] = []
    state: dict[str, str] = {}  # visiting | done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name):] + [name]
            raise PluginError("plugin dependency cycle: " + " -> ".join(cycle))
        state[name] = "visiting"
        manifest = manifest_of(name)
        for req in manifest.requires:
            if req not in eps:
                raise PluginError(f"plugin {name!r} requires {req!r}, which is not installed")
            reasons.setdefault(req, f"required by {name}")
            visit(req, path + [name])
        state[name] = "done"
        order.append(manifest)

    for name in requested:
        visit(name, [])
    return order, reasons


def describe_all(selection: str | None) -> list[PluginInfo]:
    """Every installed plugin, enabled or not, for ``counterdesk plugins``."""
    eps = installed_entry_points()
    manifests = {name: load_manifest(ep) for name, ep in eps.items()}
    enabled, reasons = resolve(parse_selection(selection), eps, manifests)
    on = {m.name for m in enabled}
    out = []
    for name in sorted(eps):
        ep = eps[name]
        dist = getattr(ep, "dist", None)
        out.append(PluginInfo(manifest=manifests[name], module=ep.value, enabled=name in on,
                              reason=reasons.get(name, "not selected by COUNTERDESK_PLUGINS"),
                              distribution=dist.name if dist else None))
    return out


class PluginSet:
    """The enabled plugins, registered on a pluggy ``PluginManager`` in dependency order.

    ``extra`` (tests, embedding) registers plugins after the discovered ones: a plugin
    package (its ``hooks`` module is imported) or any object carrying a ``manifest``
    and hook implementations.
    """

    def __init__(self, selection: str | None, extra: Iterable[Any] = ()) -> None:
        self.pm = pluggy.PluginManager("counterdesk")
        self.pm.add_hookspecs(hookspecs)
        eps = installed_entry_points()
        ordered, self.reasons = resolve(parse_selection(selection), eps)
        self.manifests: dict[str, Manifest] = {}
        self.modules: dict[str, ModuleType | Any] = {}

        from core import hooks as core_hooks  # the kernel is a plugin like the others
        self.pm.register(core_hooks, name="core")
        for manifest in ordered:
            package = eps[manifest.name].value
            self._register(manifest, importlib.import_module(manifest.hooks or f"{package}.hooks"),
                           package)
        for obj in extra:
            manifest = getattr(obj, "manifest")
            missing = [r for r in manifest.requires if r not in self.manifests]
            if missing:
                raise PluginError(f"plugin {manifest.name!r} requires {', '.join(missing)}, "
                                  "which is not enabled")
            self.reasons[manifest.name] = "registered directly"
            if isinstance(obj, ModuleType) and hasattr(obj, "__path__"):
                # A plugin package: its hooks module is imported as for discovered plugins.
                hooks_obj = importlib.import_module(manifest.hooks or f"{obj.__name__}.hooks")
                self._register(manifest, hooks_obj, obj.__name__)
            else:
                self._register(manifest, obj, None)
        self.pm.check_pending()

    def _register(self, manifest: Manifest, hooks_obj: Any, package: str | None) -> None:
        if manifest.name in self.manifests or manifest.name == "core":
            raise PluginError(f"plugin {manifest.name!r} is registered twice")
        spec_module = getattr(hooks_obj, "hookspecs", None)
        if isinstance(spec_module, ModuleType):
            self.pm.add_hookspecs(spec_module)
        elif package is not None:
            try:
                self.pm.add_hookspecs(importlib.import_module(f"{package}.hookspecs"))
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.hookspecs":
                    raise
        self.pm.register(hooks_obj, name=manifest.name)
        self.manifests[manifest.name] = manifest
        self.modules[manifest.name] = hooks_obj

    @property
    def names(self) -> list[str]:
        """Enabled plugin names in dependency order (``core`` first)."""
        return ["core", *self.manifests]

    def is_enabled(self, name: str) -> bool:
        return name == "core" or name in self.manifests

    def collect(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Call ``hook`` on each plugin in dependency order and yield ``(plugin, item)``
        for every item each returns (a single non-list result counts as one item)."""
        order = {name: i for i, name in enumerate(self.names)}
        impls = sorted(getattr(self.pm.hook, hook).get_hookimpls(),
                       key=lambda impl: order.get(impl.plugin_name, len(order)))
        for impl in impls:
            args = {k: kwargs[k] for k in impl.argnames}
            result = impl.function(**args)
            if result is None:
                continue
            items = result if isinstance(result, (list, tuple)) else [result]
            for item in items:
                yield impl.plugin_name, item
