"""Every hook of the kernel. Each docstring is that hook's reference documentation:
``docs/plugins.md`` shows these signatures and a test checks that it does.

Three families:

* **Registration hooks** (``register_*``) are called once when the app is built. They
  return data (the frozen dataclasses in :mod:`core.types`, blueprints, click
  commands); the kernel collects it, validates it and refuses duplicates.
* **Domain hooks** (past tense) are called inside the unit of work that made the
  change, with its ``session``: what an implementation writes commits or rolls back
  with the change itself. An exception aborts the whole unit of work.
* **Contribution hooks** (nouns) collect results from every enabled plugin.

Hooks are always called with keyword arguments; an implementation declares only the
arguments it uses. pluggy calls implementations last-registered-first, and plugins
are registered in dependency order (a plugin after what it requires), so for a
``firstresult`` hook a plugin's answer comes before the answers of the plugins it
builds on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click
    from flask import Blueprint
    from sqlalchemy.orm import Session

    from core.models import User
    from core.types import (DashboardCard, Job, MenuItem, MigrationBranch, Permission, Report,
                            SearchResult, Setting)

hookspec = pluggy.HookspecMarker("counterdesk")


# ------------------------------------------------------------ registration hooks

@hookspec
def register_models() -> Sequence[type]:
    """Return the plugin's model classes (subclasses of ``core.Model``) and plain
    ``Table`` objects (association tables) on ``core.Model.metadata``.

    Their tables belong to the plugin: they are created by its migration branch and
    must be named ``<slug>_<entity>``. The kernel refuses a table claimed twice.
    """


@hookspec
def register_migrations() -> "MigrationBranch | None":
    """Return the plugin's Alembic branch (``MigrationBranch(label, path)``).

    ``label`` must be the plugin's name; ``path`` is the folder of revision files. The
    first revision of a branch carries ``branch_labels=(label,)`` and
    ``depends_on`` the revisions of other branches whose tables it references.
    ``counterdesk init`` upgrades every enabled branch to its head.
    """


@hookspec
def register_blueprints() -> "Sequence[Blueprint]":
    """Return Flask blueprints to mount.

    API blueprints live under ``/api/v1/<slug>/``; every view must declare its
    permission (``core.require`` or ``core.endpoint(permission=...)``) or be marked
    ``public`` — start-up refuses a route that does neither.
    """


@hookspec
def register_permissions() -> "Sequence[Permission]":
    """Return the permissions the plugin checks (``<slug>.<resource>.<verb>``).

    ``Permission.default_roles`` lists the built-in roles granted it when a database
    first sees it; an admin may change grants afterwards. Duplicates stop start-up.
    """


@hookspec
def register_menu_items() -> "Sequence[MenuItem]":
    """Return navigation entries. Each is shown only to users holding its permission."""


@hookspec
def register_reports() -> "Sequence[Report]":
    """Return reports. The kernel lists them at ``GET /api/v1/reports``, runs them at
    ``GET /api/v1/reports/{name}`` (JSON or CSV) and renders a table and a chart."""


@hookspec
def register_settings() -> "Sequence[Setting]":
    """Return the plugin's typed settings (with defaults and help). Values are read
    with ``core.get_setting(plugin, key)`` and edited by an admin (audited)."""


@hookspec
def register_commands() -> "Sequence[click.Command]":
    """Return click commands (or groups) added to the ``counterdesk`` CLI. Each runs
    inside the app's context; use ``core.cli.unit_of_work()`` for database work."""


@hookspec
def register_jobs() -> "Sequence[Job]":
    """Return background jobs (``Job(name, func, retries, backoff)``). Enqueue them
    with ``core.enqueue(name, **ids)`` inside a unit of work."""


# ------------------------------------------------------------------ domain hooks

@hookspec
def user_created(session: "Session", user: "User", actor: "User | None") -> None:
    """A user account was created (by ``actor``; None from the command line).

    Called inside the creating unit of work, after the user is flushed (``user.id`` is
    set). Raising aborts the creation.
    """


@hookspec
def settings_changed(session: "Session", plugin: str, before: dict[str, Any],
                     after: dict[str, Any], actor: "User | None") -> None:
    """An admin changed ``plugin``'s settings. ``before`` and ``after`` hold only the
    keys that changed. Called inside the unit of work that stores them."""


@hookspec
def load_demo_data(session: "Session", actor: "User") -> None:
    """``counterdesk demo`` is loading demonstration data: add the plugin's own.

    Called plugin by plugin in dependency order (a plugin after what it requires),
    inside one unit of work. Implementations must be idempotent: ``demo`` may be run twice.
    """


# ------------------------------------------------------------ contribution hooks

@hookspec
def search(session: "Session", query: str, actor: "User", limit: int) -> "Sequence[SearchResult]":
    """Return up to ``limit`` results for the unified search box.

    Only return records ``actor`` may see. Mark identifier matches (a serial, a
    barcode, a document number) ``exact=True``: they rank first, and a lone exact hit
    opens directly. ``query`` is stripped and never empty.
    """


@hookspec
def dashboard_cards(session: "Session", actor: "User") -> "Sequence[DashboardCard]":
    """Return panels for the home dashboard (counts, queues) that ``actor`` may see."""
