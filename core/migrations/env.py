"""Alembic environment: the connection and runtime come from ``core.migrate``."""
from __future__ import annotations

from alembic import context

from core.migrate import _include_name, target_metadata

config = context.config
runtime = config.attributes["runtime"]
metadata = target_metadata(runtime)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        with runtime.db.engine.begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=metadata, compare_type=True,
                      include_name=_include_name(metadata),
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `counterdesk init`")
run_migrations_online()
