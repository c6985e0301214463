"""The web shell: base layout, navigation from plugins' menu items, the search box,
flash messages and error pages."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, render_template, url_for
from flask_wtf.csrf import generate_csrf

from core.errors import DomainError


def nav_items(runtime: Any, user: Any, section: str = "main",
              perms: set[str] | None = None) -> list[dict[str, Any]]:
    """The menu items ``user`` (holding ``perms``, computed when not given) may use."""
    if user is None:
        return []
    if perms is None:
        perms = runtime.permissions_of(user)
    out = []
    for item in runtime.registry.menu_items:
        if item.section != section or (item.permission and item.permission not in perms):
            continue
        out.append({"key": item.key, "title": item.title, "url": url_for(item.endpoint)})
    return out


def install_template_globals(app: Flask, runtime: Any) -> None:
    @app.context_processor
    def _shell() -> dict[str, Any]:
        actor = g.get("actor")
        # One permission set per rendered page, shared by both menus and every can().
        perms = runtime.permissions_of(actor) if actor is not None else set()
        return {
            "actor": actor,
            "nav": nav_items(runtime, actor, "main", perms),
            "admin_nav": nav_items(runtime, actor, "admin", perms),
            "csrf_token": generate_csrf,
            "can": perms.__contains__,
        }


def render_error(exc: DomainError, status: int) -> Response:
    body = render_template("core/error.html", error=exc, status=status)
    resp = Response(body, status=status, mimetype="text/html")
    for k, v in exc.headers.items():
        resp.headers[k] = v
    return resp
