"""The kernel's screens: sign-in and sign-out, the home dashboard, search results,
reports, and the administration pages."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from core.auth import public, signed_in
from core.errors import DomainError

web = Blueprint("web", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never redirect a sign-in to another host."""
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


@web.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    from core.api import sign_in
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")[:1024]
        try:
            user = sign_in(username, password)
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("core/login.html", username=username), exc.status
        session.clear()  # a new session (and CSRF token) at every sign-in
        login_user(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("core/login.html", username="")


@web.post("/logout")
@signed_in
def logout() -> Any:
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("web.login"))


@web.get("/")
@signed_in
def home() -> Any:
    cards = []
    for batch in g.runtime.hook.dashboard_cards(session=g.session, actor=g.actor):
        cards.extend(batch or ())
    perms = g.runtime.permissions_of(g.actor)
    cards = sorted((c for c in cards if c.permission is None or c.permission in perms),
                   key=lambda c: (c.order, c.title))
    return render_template("core/home.html", cards=cards)
