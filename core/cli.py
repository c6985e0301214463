"""The ``counterdesk`` command: init, demo, run, worker, plugins, users, audit, backup,
restore — and whatever commands enabled plugins register."""
from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from core.errors import DomainError, PluginError


def _runtime(ctx: click.Context) -> Any:
    """The runtime of this invocation (built once, on first use)."""
    obj = ctx.ensure_object(dict)
    if "runtime" not in obj:
        from core.config import Config
        from core.runtime import Runtime, set_current
        try:
            cfg = Config.load({"instance_path": obj["instance"]} if obj.get("instance") else None)
            cfg.ensure_instance()
            obj["runtime"] = Runtime(cfg)
        except PluginError as exc:
            raise click.ClickException(str(exc)) from None
        set_current(obj["runtime"])
    return obj["runtime"]


class CounterdeskGroup(click.Group):
    """Built-in commands, plus the enabled plugins' (found only when asked for)."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        try:
            rt = _runtime(ctx)
        except click.ClickException:
            return {}
        return {cmd.name: cmd for _plugin, cmd in rt.registry.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands(ctx)))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugin_commands(ctx).get(name)


@click.group(cls=CounterdeskGroup)
@click.option("--instance", envvar="COUNTERDESK_INSTANCE", default=None,
              help="Instance folder (database, secret key, receipts). Default: ./instance")
@click.pass_context
def main(ctx: click.Context, instance: str | None) -> None:
    """Counterdesk: sales and service for serialized goods."""
    ctx.ensure_object(dict)["instance"] = instance


def _init_database(rt: Any) -> list[str]:
    from core import migrate
    from core.auth import seed_roles
    labels = migrate.upgrade(rt)
    with rt.unit_of_work() as s:
        seed_roles(s, rt.registry.permissions.values())
    return labels


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the database for the enabled plugins."""
    rt = _runtime(ctx)
    labels = _init_database(rt)
    click.echo(f"Database ready at {_display_url(rt.config.database_url)} "
               f"(branches: {', '.join(labels)}).")


def load_demo_data(rt: Any, session: Any, actor: Any) -> None:
    """Call every enabled plugin's ``load_demo_data`` in dependency order (core
    first), so a plugin's demo records can build on those of what it requires."""
    impls = rt.hook.load_demo_data.get_hookimpls()
    for plugin in rt.plugins.names:
        for impl in impls:
            if impl.plugin_name == plugin:
                args = {"session": session, "actor": actor}
                impl.function(**{k: args[k] for k in impl.argnames})


@main.command()
@click.option("--admin-password", envvar="COUNTERDESK_DEMO_PASSWORD", default=None,
              help="Password for the demo users (default: generated and printed).")
@click.pass_context
def demo(ctx: click.Context, admin_password: str | None) -> None:
    """Load demonstration data: users for every role, and each plugin's demo records."""
    from sqlalchemy import select

    from core.auth import create_user
    from core.models import User
    rt = _runtime(ctx)
    _init_database(rt)
    cred_file = Path(rt.config.instance_path) / "demo-credentials.txt"
    password = admin_password or (cred_file.read_text().split()[-1] if cred_file.exists()
                                  else secrets.token_urlsafe(9))
    created = []
    with rt.unit_of_work() as s:
        for role in ("admin", "owner", "manager", "cashier", "technician", "warranty_manager",
                     "finance", "read_only"):
            username = role if role != "warranty_manager" else "warranty"
            if s.scalar(select(User.id).where(User.username == username)) is None:
                create_user(s, username=username, password=password, roles=[role],
                            display_name=role.replace("_", " ").title(), actor=None,
                            password_method=rt.config.password_method, hook=rt.hook)
                created.append(username)
        admin = s.scalar(select(User).where(User.username == "admin"))
        load_demo_data(rt, s, admin)
    cred_file.write_text(f"password {password}\n")
    os.chmod(cred_file, 0o600)
    click.echo("Demo data loaded." + (f" Created users: {', '.join(created)}." if created else ""))
    click.echo(f"Sign in as 'admin' (or any role name: owner, manager, cashier, technician, "
               f"warranty, finance, read_only) with the password: {password}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=int,
              help="gunicorn worker processes (default: 2 per CPU, at least 2).")
@click.option("--dev", is_flag=True, help="Flask's development server with reload and debugger.")
@click.pass_context
def run(ctx: click.Context, host: str, port: int, workers: int | None, dev: bool) -> None:
    """Serve Counterdesk over HTTP."""
    rt = _runtime(ctx)
    from core import migrate
    if migrate.pending(rt):
        raise click.ClickException("The database needs `counterdesk init` first.")
    instance = rt.config.instance_path
    if dev:
        from core.app import create_app
        create_app({"instance_path": instance}).run(host=host, port=port, debug=True)
        return
    from core.server import serve
    serve(instance, host=host, port=port, workers=workers or max(2, 2 * (os.cpu_count() or 1)))


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--dispatch-interval", default=2.0, show_default=True, type=float,
              envvar="COUNTERDESK_WORKER_DISPATCH_INTERVAL",
              help="Seconds between passes handing over outbox rows Redis missed and due retries.")
@click.pass_context
def worker(ctx: click.Context, burst: bool, dispatch_interval: float) -> None:
    """Run background jobs from Redis (needs COUNTERDESK_REDIS_URL)."""
    from core.jobs import run_worker
    run_worker(_runtime(ctx), burst=burst, dispatch_interval=dispatch_interval)


@main.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List installed plugins: version, enabled or not, requirements, and why."""
    from rich.console import Console
    from rich.table import Table

    from core.plugins import describe_all
    sel = os.environ.get("COUNTERDESK_PLUGINS")
    try:
        infos = describe_all(sel)
    except PluginError as exc:
        raise click.ClickException(str(exc)) from None
    table = Table(title="Counterdesk plugins")
    for col in ("plugin", "version", "enabled", "requires", "why", "package"):
        table.add_column(col)
    for info in infos:
        table.add_row(info.name, info.manifest.version, "yes" if info.enabled else "no",
                      ", ".join(info.manifest.requires) or "-", info.reason,
                      info.distribution or info.module)
    Console(width=160).print(table)


@main.group()
def users() -> None:
    """Manage staff accounts."""


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="Role name; repeatable.")
@click.option("--display-name", default="")
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def users_create(ctx: click.Context, username: str, roles: tuple[str, ...], display_name: str,
                 email: str | None, password_stdin: bool) -> None:
    """Create a user (the password is prompted for, or read from stdin)."""
    from core.auth import create_user
    rt = _runtime(ctx)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with rt.unit_of_work() as s:
            user = create_user(s, username=username, password=password, roles=list(roles),
                               display_name=display_name, email=email, actor=None,
                               password_method=rt.config.password_method, hook=rt.hook)
            uid = user.id
    except DomainError as exc:
        detail = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items())
        raise click.ClickException(exc.message + (f" ({detail})" if detail else "")) from None
    click.echo(f"Created user {username} (id {uid}) with roles: {', '.join(roles)}.")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """List users and their roles."""
    from sqlalchemy import select

    from core.models import User
    rt = _runtime(ctx)
    with rt.unit_of_work(write=False) as s:
        for u in s.scalars(select(User).order_by(User.username)):
            click.echo(f"{u.id}\t{u.username}\t{','.join(u.role_names)}\t{'active' if u.active else 'inactive'}")


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Recompute the audit log's hash chain; exits 1 if a row was tampered with."""
    from core.audit import verify
    rt = _runtime(ctx)
    with rt.unit_of_work(write=False) as s:
        result = verify(s)
    if result["ok"]:
        click.echo(f"Audit log intact: {result['checked']} entries checked.")
        return
    click.echo(f"Audit log BROKEN at entry {result['first_bad_id']} "
               f"({result['checked']} entries intact before it).", err=True)
    ctx.exit(1)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.pass_context
def backup(ctx: click.Context, path: str) -> None:
    """Write a consistent copy of the database to PATH (SQLite: online backup;
    PostgreSQL: pg_dump custom format)."""
    rt = _runtime(ctx)
    url = rt.db.engine.url
    if rt.db.is_sqlite:
        import sqlite3
        src = sqlite3.connect(url.database)
        dst = sqlite3.connect(path)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        _pg_tool("pg_dump", url, ["--format=custom", f"--file={path}"])
    click.echo(f"Backup written to {path}.")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@click.pass_context
def restore(ctx: click.Context, path: str, yes: bool) -> None:
    """Replace the database with a backup made by `counterdesk backup`."""
    rt = _runtime(ctx)
    if not yes:
        click.confirm("This replaces every record in the database. Continue?", abort=True)
    url = rt.db.engine.url
    rt.db.dispose()
    if rt.db.is_sqlite:
        import sqlite3
        src = sqlite3.connect(path)
        dst = sqlite3.connect(url.database)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        _pg_tool("pg_restore", url, ["--clean", "--if-exists", "--no-owner", path])
    click.echo("Database restored; run `counterdesk init` if the backup is from an older version.")


def _pg_tool(tool: str, url: Any, args: list[str]) -> None:
    import subprocess
    exe = shutil.which(tool)
    if exe is None:
        raise click.ClickException(f"{tool} is not installed")
    env = dict(os.environ, PGPASSWORD=url.password or "")
    target = ["--dbname", url.set(drivername="postgresql").render_as_string(hide_password=True)]
    subprocess.run([exe, *target, *args], check=True, env=env)


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def unit_of_work(write: bool = True) -> Any:
    """For plugin commands: a unit of work on the CLI's runtime."""
    ctx = click.get_current_context()
    return _runtime(ctx).unit_of_work(write=write)
