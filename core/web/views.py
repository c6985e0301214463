"""The kernel's screens: sign-in and sign-out, the home dashboard, search results,
reports, and the administration pages."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from werkzeug.datastructures import MultiDict

from core.rest import handler_body
from core import api
from core import audit as audit_log
from core import reports as report_service
from core import settings as settings_service
from core.auth import public, require, set_role_permissions as set_permissions, signed_in
from core.errors import DomainError, Forbidden
from core.schemas import (AuditListArgs, JobListArgs, RoleCreateSchema, UserCreateSchema,
                          UserListArgs, UserUpdateSchema)
from core.search import direct_hit, unified_search
from core.web.charts import svg_chart
from core.web.forms import inputs, load

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
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")[:1024]
        try:
            user = api.sign_in(username, password)
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


# ------------------------------------------------------------------ helpers

def _refused(exc: DomainError) -> None:
    """A service refused a form: undo whatever it wrote, so the page shows what is
    stored, and say why in a flash (field messages go next to their inputs)."""
    g.session.rollback()
    flash(exc.message, "error")


# ------------------------------------------------------------------ search

@web.get("/search")
@signed_in
def search() -> Any:
    query = request.args.get("q", "").strip()[:200]
    results = unified_search(g.runtime, g.session, query, g.actor, limit=50) if query else []
    hit = direct_hit(results)
    if hit is not None:
        return redirect(hit.url)
    return render_template("core/search.html", query=query, results=results)


# ----------------------------------------------------------------- reports

@web.get("/reports")
@require("core.reports.view")
def reports() -> Any:
    return render_template("core/reports.html", reports=handler_body(api.list_reports)()["items"])


@web.get("/reports/<string:name>")
@signed_in
def report(name: str) -> Any:
    found = report_service.find(g.runtime.registry.reports, name)
    if found.permission not in g.runtime.permissions_of(g.actor):
        raise Forbidden(f"You need the permission {found.permission!r}.")
    raw = {k: v for k, v in request.args.items() if k != "format" and v != ""}
    context: dict[str, Any] = {
        "report": found, "inputs": inputs(found.params, request.args) if found.params else [],
        # The API answers the download; the session cookie is enough for a GET there.
        "csv_url": url_for("api.run_report", name=found.name) + "?" + urlencode({**raw, "format": "csv"}),
    }
    try:
        _params, result = report_service.run(g.session, found, raw)
    except DomainError as exc:
        _refused(exc)
        return render_template("core/report.html", result=None, chart=None, errors=exc.fields,
                               **context), exc.status
    chart = svg_chart(found.chart, result, found.title) if found.chart else None
    rows = [[report_service.cell(v) for v in row] for row in result.rows]
    return render_template("core/report.html", result=result, rows=rows, chart=chart,
                           errors={}, **context)


# ------------------------------------------------------------------- users

def _users_page(status: int = 200, errors: dict | None = None, form: Any = None) -> Any:
    args = load(UserListArgs, request.args)
    page = handler_body(api.list_users)(args=args)
    roles = handler_body(api.list_roles)()
    body = render_template("core/users.html", page=page, q=args["q"] or "", roles=roles,
                           errors=errors or {}, form=form or MultiDict())
    return body, status


@web.get("/admin/users")
@require("core.users.view")
def users() -> Any:
    return _users_page()


@web.post("/admin/users")
@require("core.users.manage")
def create_user() -> Any:
    try:
        user = handler_body(api.create_user)(data=load(UserCreateSchema, request.form, lists=("roles",)))
    except DomainError as exc:
        _refused(exc)
        return _users_page(exc.status, exc.fields, request.form)
    flash(f"User {user.username} created.", "success")
    return redirect(url_for("web.user", user_id=user.id))


@web.get("/admin/users/<int:user_id>")
@require("core.users.view")
def user(user_id: int) -> Any:
    return render_template("core/user.html", user=handler_body(api.get_user)(user_id=user_id),
                           roles=handler_body(api.list_roles)(), errors={})


@web.post("/admin/users/<int:user_id>")
@require("core.users.manage")
def update_user(user_id: int) -> Any:
    try:
        data = load(UserUpdateSchema, request.form, lists=("roles",))
        if request.form.get("roles_shown") and "roles" not in data:
            data["roles"] = []   # every role box unticked
        handler_body(api.update_user)(user_id=user_id, data=data)
    except DomainError as exc:
        _refused(exc)
        return render_template("core/user.html", user=handler_body(api.get_user)(user_id=user_id),
                               roles=handler_body(api.list_roles)(), errors=exc.fields), exc.status
    flash("Saved.", "success")
    return redirect(url_for("web.user", user_id=user_id))


# ------------------------------------------------------------------- roles

def _roles_page(status: int = 200, errors: dict | None = None) -> Any:
    reg = g.runtime.registry
    permissions = sorted(reg.permissions.values(),
                         key=lambda p: (reg.permission_owner[p.name] != "core",
                                        reg.permission_owner[p.name], p.name))
    body = render_template("core/roles.html", roles=handler_body(api.list_roles)(), permissions=permissions,
                           owner=reg.permission_owner, errors=errors or {})
    return body, status


@web.get("/admin/roles")
@require("core.roles.manage")
def roles() -> Any:
    return _roles_page()


@web.post("/admin/roles/<string:name>")
@require("core.roles.manage")
def set_role_permissions(name: str) -> Any:
    try:
        set_permissions(g.session, name, request.form.getlist("permissions"),
                        g.runtime.registry.permissions, g.actor)
    except DomainError as exc:
        _refused(exc)
        return _roles_page(exc.status, exc.fields)
    flash(f"Permissions of {name} saved.", "success")
    return redirect(url_for("web.roles"))


@web.post("/admin/roles")
@require("core.roles.manage")
def create_role() -> Any:
    try:
        role = handler_body(api.create_role)(data=load(RoleCreateSchema, request.form, lists=("permissions",)))
    except DomainError as exc:
        _refused(exc)
        return _roles_page(exc.status, exc.fields)
    flash(f"Role {role['name']} created.", "success")
    return redirect(url_for("web.roles"))


# ---------------------------------------------------------------- settings

def _settings_page(status: int = 200, plugin: str | None = None, errors: dict | None = None,
                   submitted: dict | None = None) -> Any:
    groups = settings_service.describe(g.session, g.runtime.registry.settings)
    if plugin and submitted:   # show what was typed, next to what was wrong with it
        for group in groups:
            if group["plugin"] == plugin:
                for s in group["settings"]:
                    s["value"] = submitted.get(s["key"], s["value"])
    body = render_template("core/settings.html", groups=groups, failed_plugin=plugin,
                           errors=errors or {})
    return body, status


@web.get("/admin/settings")
@require("core.settings.view")
def settings() -> Any:
    return _settings_page()


@web.post("/admin/settings/<string:plugin>")
@require("core.settings.edit")
def update_settings(plugin: str) -> Any:
    declared = g.runtime.registry.settings
    # The last value wins: a checkbox follows a hidden "false" of the same name.
    changes = {key: request.form.getlist(key)[-1]
               for key in declared.get(plugin, {}) if key in request.form}
    try:
        settings_service.update(g.session, declared, plugin, changes, g.actor, hook=g.runtime.hook)
    except DomainError as exc:
        _refused(exc)
        return _settings_page(exc.status, plugin, exc.fields, changes)
    flash("Settings saved.", "success")
    return redirect(url_for("web.settings") + f"#settings-{plugin}")


# ------------------------------------------------------------------- audit

@web.get("/admin/audit")
@require("core.audit.view")
def audit() -> Any:
    args = load(AuditListArgs, request.args)
    verification = audit_log.verify(g.session) if request.args.get("verify") else None
    filters = {k: v for k, v in args.items() if k not in ("page", "per_page") and v is not None}
    return render_template("core/audit.html", page=handler_body(api.list_audit)(args=args), args=args,
                           filters=filters, verification=verification)


# ----------------------------------------------------------------- plugins

@web.get("/admin/plugins")
@require("core.plugins.view")
def plugins() -> Any:
    return render_template("core/plugins.html", plugins=handler_body(api.list_plugins)())


# -------------------------------------------------------------------- jobs

@web.get("/admin/jobs")
@require("core.jobs.view")
def jobs() -> Any:
    args = load(JobListArgs, request.args)
    return render_template("core/jobs.html", page=handler_body(api.list_jobs)(args=args), args=args)


@web.post("/admin/jobs/<int:job_id>/retry")
@require("core.jobs.manage")
def retry_job(job_id: int) -> Any:
    handler_body(api.retry_job)(job_id=job_id)
    flash(f"Job {job_id} will be tried again.", "success")
    return redirect(url_for("web.jobs"))
