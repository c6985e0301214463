"""Schema migrations with Alembic: one branch per plugin (plus ``core``).

``upgrade(runtime)`` brings every enabled branch to its head, so a shop can enable a
plugin later, or upgrade Counterdesk, with ``counterdesk init``. Revisions of
installed-but-disabled plugins stay resolvable (their folders are listed, their code
is not imported) so a database that once had them still upgrades.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext  # noqa: F401 - documented entry
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

from core.plugins import installed_entry_points

HERE = Path(__file__).resolve().parent
# Search indexes a migration creates by hand (expression and GIN/trigram indexes on
# PostgreSQL) that no model declares; FTS5 tables are left out as non-model tables.
SEARCH_INDEX_PREFIX = "ix_search_"


def _disabled_branch_folders(runtime: Any) -> list[str]:
    folders = []
    for name, ep in installed_entry_points().items():
        if runtime.plugins.is_enabled(name):
            continue
        spec = importlib.util.find_spec(ep.value)  # locates the package without running it
        for base in (spec.submodule_search_locations or []) if spec else []:
            folder = Path(base) / "migrations" / "versions"
            if folder.is_dir():
                folders.append(str(folder))
    return folders


def alembic_config(runtime: Any) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    locations = [b.path for b in runtime.registry.migrations.values()]
    locations += _disabled_branch_folders(runtime)
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.attributes["runtime"] = runtime
    return cfg


def target_metadata(runtime: Any) -> MetaData:
    """The models' schema for the enabled plugins only."""
    from core.db import metadata
    md = MetaData(naming_convention=metadata.naming_convention)
    for name, table in metadata.tables.items():
        if name in runtime.registry.tables:
            table.to_metadata(md)
    return md


def upgrade(runtime: Any) -> list[str]:
    """Upgrade every enabled branch to its head. Returns the labels upgraded."""
    cfg = alembic_config(runtime)
    labels = list(runtime.registry.migrations)
    with runtime.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        for label in labels:
            command.upgrade(cfg, f"{label}@head")
    return labels


def current_heads(runtime: Any) -> set[str]:
    with runtime.db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def pending(runtime: Any) -> bool:
    """Whether an enabled branch is behind its head (``counterdesk init`` needed)."""
    script = ScriptDirectory.from_config(alembic_config(runtime))
    heads = current_heads(runtime)
    wanted = {script.get_revision(f"{label}@head").revision for label in runtime.registry.migrations}
    applied: set[str] = set()
    for head in heads:
        applied |= {r.revision for r in script.iterate_revisions(head, "base")}
    return not wanted <= applied


def schema_diff(runtime: Any) -> list[Any]:
    """Differences between the database and the enabled models (empty when they match)."""
    from alembic.autogenerate import compare_metadata
    md = target_metadata(runtime)
    with runtime.db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_name": _include_name(md),
            "render_as_batch": conn.dialect.name == "sqlite"})
        return compare_metadata(ctx, md)


def _include_name(md: MetaData) -> Any:
    def include(name: str | None, type_: str, parent: Any) -> bool:
        if type_ == "table":
            return name in md.tables
        if type_ == "index" and name and name.startswith(SEARCH_INDEX_PREFIX):
            return False
        return True
    return include
