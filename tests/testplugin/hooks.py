"""Hook implementations of the test plugin: one (at least) of every family."""
from __future__ import annotations

import os
from typing import Any

import click
from flask import Blueprint, g
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from core import (Chart, Column, DashboardCard, Invalid, Job, MenuItem, MigrationBranch, Permission,
                  Report, ReportResult, SearchResult, Setting, endpoint, enqueue, hookimpl, require)

from tests.testplugin.models import Note

bp = Blueprint("testplugin", __name__, url_prefix="/api/v1/testplugin")
pages = Blueprint("testplugin_pages", __name__, url_prefix="/testplugin")


class NoteIn(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=200))
    fail_after_write = fields.Boolean(load_default=False)


class NoteOut(Schema):
    id = fields.Integer(required=True)
    body = fields.String(required=True)
    kind = fields.String(required=True)


@bp.post("/notes")
@endpoint(permission="testplugin.note.create", body=NoteIn, response=NoteOut, status=201,
          idempotent=True)
def create_note(data: dict[str, Any]) -> Any:
    """Create a note (idempotent with Idempotency-Key)."""
    note = Note(body=data["body"], user_id=g.actor.id)
    g.session.add(note)
    g.session.flush()
    enqueue("testplugin.echo", note_id=note.id)
    if data["fail_after_write"]:
        raise Invalid("Failing on purpose after writing.", fields={"fail_after_write": ["set"]})
    return note


@bp.get("/notes")
@endpoint(permission="testplugin.note.view", response=NoteOut, many=True)
def list_notes() -> Any:
    """All notes."""
    return g.session.scalars(select(Note).order_by(Note.id)).all()


@pages.get("/")
@require("testplugin.note.view")
def notes_page() -> Any:
    return "<h1>Notes</h1>"


# ---------------------------------------------------------------- registration

@hookimpl
def register_models() -> list[type]:
    return [Note]


@hookimpl
def register_migrations() -> MigrationBranch:
    return MigrationBranch("testplugin", os.path.join(os.path.dirname(__file__), "migrations", "versions"))


@hookimpl
def register_blueprints() -> list[Blueprint]:
    return [bp, pages]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("testplugin.note.create", "Create notes", ("cashier", "manager")),
            Permission("testplugin.note.view", "See notes", ("cashier", "manager", "read_only"))]


@hookimpl
def register_menu_items() -> list[MenuItem]:
    return [MenuItem("testplugin-notes", "Notes", "testplugin_pages.notes_page",
                     "testplugin.note.view", order=50)]


class CountParams(Schema):
    min_length = fields.Integer(load_default=0, validate=validate.Range(min=0, max=200))


def _count_notes(session: Any, params: dict[str, Any]) -> ReportResult:
    rows = session.execute(select(Note.kind, func.count()).where(
        func.length(Note.body) >= params["min_length"]).group_by(Note.kind).order_by(Note.kind)).all()
    return ReportResult(columns=[Column("kind", "Kind"), Column("count", "Notes", "int")],
                        rows=[tuple(r) for r in rows])


@hookimpl
def register_reports() -> list[Report]:
    return [Report("testplugin.notes_by_kind", "Notes by kind", "testplugin.note.view",
                   _count_notes, params=CountParams, chart=Chart("bar", "kind", ("count",)))]


@hookimpl
def register_settings() -> list[Setting]:
    from decimal import Decimal
    return [Setting("labour_rate", "Labour rate", "decimal", Decimal("60.00"), min=Decimal("0"),
                    help="Per hour."),
            Setting("greeting", "Greeting", "str", "hello", help="Said by the echo job.")]


@click.command("testplugin-hello")
@click.argument("name")
def hello(name: str) -> None:
    """Print a greeting and the number of notes."""
    from core.cli import unit_of_work
    with unit_of_work(write=False) as s:
        n = s.scalar(select(func.count()).select_from(Note))
    click.echo(f"hello {name}, {n} notes")


@hookimpl
def register_commands() -> list[click.Command]:
    return [hello]


def echo(note_id: int) -> None:
    """Job: mark the note as echoed (proves jobs see the committed row)."""
    from core import current_session
    s = current_session()
    note = s.get(Note, note_id)
    if note is None:
        raise LookupError(f"note {note_id} is not committed")
    s.add(Note(body=f"echo of {note_id}", kind="echo"))


@hookimpl
def register_jobs() -> list[Job]:
    return [Job("testplugin.echo", echo, retries=1, backoff=(0,))]


# --------------------------------------------------------------------- domain

@hookimpl
def user_created(session: Any, user: Any) -> None:
    if user.username.startswith("reject"):
        raise Invalid("The test plugin refuses this username.", fields={"username": ["rejected"]})
    session.add(Note(body=f"welcome {user.username}", kind="welcome", user_id=user.id))


@hookimpl
def load_demo_data(session: Any) -> None:
    if session.scalar(select(Note.id).where(Note.kind == "demo")) is None:
        session.add(Note(body="demo note", kind="demo"))


# --------------------------------------------------------------- contribution

@hookimpl
def search(session: Any, query: str, limit: int) -> list[SearchResult]:
    notes = session.scalars(select(Note).where(Note.body.like(f"%{query}%")).limit(limit))
    return [SearchResult(type="note", id=n.id, title=n.body, url=f"/testplugin/#{n.id}",
                         exact=n.body == query) for n in notes]


@hookimpl
def dashboard_cards(session: Any) -> list[DashboardCard]:
    n = session.scalar(select(func.count()).select_from(Note))
    return [DashboardCard("testplugin", "Notes", f"{n} notes", permission="testplugin.note.view")]
