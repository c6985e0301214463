"""Everything the bulletin board adds to Counterdesk, through hooks only."""
from __future__ import annotations

import datetime as dt
import os
from typing import Any

from flask import Blueprint, g, render_template
from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select

from core import (DashboardCard, MenuItem, MigrationBranch, Permission, SearchResult, Setting, audit,
                  endpoint, get_setting, hookimpl, require)

from counterdesk_bulletin.models import Notice

api = Blueprint("bulletin", __name__, url_prefix="/api/v1/bulletin")
pages = Blueprint("bulletin_pages", __name__, url_prefix="/bulletin", template_folder="templates")


class NoticeIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    body = fields.String(load_default="", validate=validate.Length(max=5000))
    expires_on = fields.Date(load_default=None, allow_none=True)


class NoticeOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    expires_on = fields.Date(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


def current_notices(session: Any) -> list[Notice]:
    today = dt.date.today()
    return list(session.scalars(select(Notice).where(
        or_(Notice.expires_on.is_(None), Notice.expires_on >= today)).order_by(Notice.id.desc())))


@api.get("/notices")
@endpoint(permission="bulletin.notice.view", response=NoticeOut, many=True)
def list_notices() -> Any:
    """Notices that have not expired, newest first."""
    return current_notices(g.session)


@api.post("/notices")
@endpoint(permission="bulletin.notice.post", body=NoticeIn, response=NoticeOut, status=201)
def post_notice(data: dict[str, Any]) -> Any:
    """Pin a notice for the team (audited)."""
    if data["expires_on"] is None:
        days = get_setting("bulletin", "default_days")
        data["expires_on"] = dt.date.today() + dt.timedelta(days=days) if days else None
    notice = Notice(author_id=g.actor.id, **data)
    g.session.add(notice)
    g.session.flush()
    audit.record(g.session, "bulletin.notice_posted", actor=g.actor, record_type="bulletin_notice",
                 record_id=notice.id, after={"title": notice.title})
    return notice


@pages.get("/")
@require("bulletin.notice.view")
def board() -> Any:
    return render_template("bulletin/board.html", notices=current_notices(g.session))


@hookimpl
def register_models() -> list[type]:
    return [Notice]


@hookimpl
def register_migrations() -> MigrationBranch:
    return MigrationBranch("bulletin", os.path.join(os.path.dirname(__file__), "migrations", "versions"))


@hookimpl
def register_blueprints() -> list[Blueprint]:
    return [api, pages]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("bulletin.notice.view", "Read the bulletin board",
                       ("owner", "manager", "cashier", "technician", "warranty_manager", "finance",
                        "read_only")),
            Permission("bulletin.notice.post", "Pin notices to the bulletin board", ("owner", "manager"))]


@hookimpl
def register_menu_items() -> list[MenuItem]:
    return [MenuItem("bulletin", "Bulletin", "bulletin_pages.board", "bulletin.notice.view", order=700)]


@hookimpl
def register_settings() -> list[Setting]:
    return [Setting("default_days", "Days a notice stays up", "int", 14, min=0, max=365,
                    help="When a notice has no expiry date; 0 keeps it until removed.")]


@hookimpl
def dashboard_cards(session: Any) -> list[DashboardCard]:
    notices = current_notices(session)[:3]
    if not notices:
        return []
    return [DashboardCard("bulletin", "Bulletin", " · ".join(n.title for n in notices),
                          url="/bulletin/", order=10, permission="bulletin.notice.view")]


@hookimpl
def search(session: Any, query: str, limit: int) -> list[SearchResult]:
    like = f"%{query.lower()}%"
    rows = session.scalars(select(Notice).where(Notice.title.ilike(like)).limit(limit))
    return [SearchResult(type="notice", id=n.id, title=n.title, subtitle="bulletin notice",
                         url="/bulletin/") for n in rows]
