"""The kernel's JSON API under /api/v1 (see ../shared/API.md)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request
from sqlalchemy import func, or_, select

from core import audit, auth, reports, settings
from core.db import after_commit, utcnow
from core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from core.models import ApiToken, AuditEntry, OutboxJob, Role, RolePermission, User
from core.plugins import describe_all
from core.rest import Page, endpoint, paginate
from core.schemas import (AuditEntrySchema, AuditListArgs, AuditVerifySchema, JobListArgs,
                          JobSchema, MeSchema, PermissionSchema, PluginSchema, ReportArgs,
                          ReportListSchema, ReportResultSchema, RoleCreateSchema,
                          RolePermissionsSchema, RoleSchema, SearchArgs, SearchResponseSchema,
                          SettingsListSchema, SettingsUpdateSchema, TokenIssuedSchema,
                          TokenRequestSchema, TokenSchema, UserCreateSchema, UserListArgs,
                          UserSchema, UserUpdateSchema)
from core.search import unified_search

api = Blueprint("api", __name__, url_prefix="/api/v1")


def _rt() -> Any:
    return g.runtime


def _client_ip() -> str:
    return request.remote_addr or "unknown"


# ---------------------------------------------------------------- sign-in

def sign_in(username: str, password: str) -> User:
    """Check credentials with throttling. The attempt is recorded (and a failure
    audited) in its own unit of work, so it stays recorded when the request answers
    401 or 429; the slow password hash runs outside any transaction."""
    rt, ip = _rt(), _client_ip()
    cfg = rt.config
    # End the request's own transaction first: looking up a bearer token or a session
    # user began it, and on SQLite a writing request holds the write lock (BEGIN
    # IMMEDIATE), so the attempt's unit of work below would wait on it and fail.
    g.session.rollback()
    throttled = None
    with rt.unit_of_work(write=False) as s:
        try:
            auth.check_throttle(s, username, ip, max_user=cfg.login_max_failures,
                                max_ip=cfg.login_max_failures_ip, window=cfg.login_window)
        except TooManyRequests as exc:
            throttled = exc
        user = s.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    ok = throttled is None and auth.check_password(user, password, cfg.password_method)
    with rt.unit_of_work() as s:
        auth.record_attempt(s, username, ip, success=ok, throttled=throttled is not None)
    if throttled is not None:
        raise throttled
    if not ok:
        raise Unauthorized("Wrong username or password.")
    return g.session.get(User, user.id)  # type: ignore[union-attr]


@api.post("/auth/tokens")
@endpoint(public=True, body=TokenRequestSchema, response=TokenIssuedSchema, status=201,
          tags=["auth"], errors=(401, 429))
def create_token(data: dict[str, Any]) -> Any:
    """Exchange a username and password for a bearer token."""
    user = sign_in(data["username"], data["password"])
    token, clear = auth.issue_token(g.session, user, name=data["name"] or "api",
                                    ttl_days=_rt().config.token_ttl_days)
    return {"id": token.id, "token": clear, "user": user}


@api.get("/auth/tokens")
@endpoint(signed_in=True, response=TokenSchema, many=True, tags=["auth"])
def list_tokens() -> Any:
    """Your API tokens (never their secret)."""
    return g.session.scalars(select(ApiToken).where(ApiToken.user_id == g.actor.id)
                             .order_by(ApiToken.id.desc())).all()


@api.delete("/auth/tokens/<int:token_id>")
@endpoint(signed_in=True, response=TokenSchema, tags=["auth"], errors=(404,))
def revoke_token(token_id: int) -> Any:
    """Revoke a token (yours, or anyone's with core.users.manage)."""
    return auth.revoke_token(g.session, token_id, g.actor,
                             may_revoke_others="core.users.manage" in _rt().permissions_of(g.actor))


@api.get("/me")
@endpoint(signed_in=True, response=MeSchema, tags=["auth"])
def me() -> Any:
    """Who you are, your roles and your permissions."""
    return {"user": g.actor, "roles": g.actor.role_names,
            "permissions": sorted(_rt().permissions_of(g.actor))}


# ---------------------------------------------------------------- plugins

@api.get("/plugins")
@endpoint(permission="core.plugins.view", response=PluginSchema, many=True, tags=["admin"])
def list_plugins() -> Any:
    """Every installed plugin, enabled or not, and why."""
    rt = _rt()
    out = []
    for info in describe_all(rt.config.plugins):
        out.append({**info.manifest.__dict__, "requires": list(info.manifest.requires),
                    "enabled": rt.plugins.is_enabled(info.name), "reason": info.reason})
    for name, manifest in rt.plugins.manifests.items():  # registered directly (embedding, tests)
        if not any(o["name"] == name for o in out):
            out.append({**manifest.__dict__, "requires": list(manifest.requires), "enabled": True,
                        "reason": rt.plugins.reasons.get(name, "")})
    return out


# ------------------------------------------------------------------ users

def _get_user(user_id: int) -> User:
    user = g.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


@api.get("/users")
@endpoint(permission="core.users.view", query=UserListArgs, response=UserSchema, paginated=True,
          tags=["admin"])
def list_users(args: dict[str, Any]) -> Page:
    """Users, searchable by username, name or email."""
    stmt = select(User).order_by(User.username)
    if args["q"]:
        like = f"%{args['q'].lower()}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like),
                              func.lower(User.display_name).like(like),
                              func.lower(User.email).like(like)))
    return paginate(g.session, stmt, args["page"], args["per_page"])


@api.post("/users")
@endpoint(permission="core.users.manage", body=UserCreateSchema, response=UserSchema, status=201,
          tags=["admin"], errors=(409,))
def create_user(data: dict[str, Any]) -> Any:
    """Create a user with roles."""
    if "admin" in data["roles"] and "admin" not in g.actor.role_names:
        raise Forbidden("Only an admin can create another admin.")
    return auth.create_user(g.session, username=data["username"], password=data["password"],
                            roles=data["roles"], display_name=data["display_name"],
                            email=data["email"], actor=g.actor,
                            password_method=_rt().config.password_method, hook=_rt().hook)


@api.get("/users/<int:user_id>")
@endpoint(permission="core.users.view", response=UserSchema, tags=["admin"], errors=(404,))
def get_user(user_id: int) -> Any:
    """One user."""
    return _get_user(user_id)


@api.patch("/users/<int:user_id>")
@endpoint(permission="core.users.manage", body=UserUpdateSchema, response=UserSchema,
          tags=["admin"], errors=(404, 409))
def update_user(user_id: int, data: dict[str, Any]) -> Any:
    """Change a user's name, email, roles, password or active flag (audited)."""
    user = _get_user(user_id)
    is_admin = "admin" in g.actor.role_names
    if ("admin" in user.role_names or "admin" in data.get("roles", [])) and not is_admin:
        raise Forbidden("Only an admin can change an admin or grant the admin role.")
    if user.id == g.actor.id and (data.get("active") is False or
                                  ("roles" in data and "admin" in user.role_names
                                   and "admin" not in data["roles"])):
        raise Conflict("You cannot deactivate yourself or drop your own admin role.")
    before = {"display_name": user.display_name, "email": user.email, "active": user.active,
              "roles": user.role_names}
    if "roles" in data:
        found = {r.name: r for r in g.session.scalars(select(Role).where(Role.name.in_(data["roles"])))}
        missing = [r for r in data["roles"] if r not in found]
        if missing:
            raise Invalid("Unknown roles.", fields={"roles": [f"unknown: {', '.join(missing)}"]})
        user.roles = [found[r] for r in dict.fromkeys(data["roles"])]   # named twice: once
    for key in ("display_name", "email", "active"):
        if key in data:
            setattr(user, key, data[key])
    changed_password = "password" in data
    if changed_password:
        user.password_hash = auth.hash_password(data["password"], _rt().config.password_method)
    if changed_password or data.get("active") is False:
        user.session_version += 1   # signs the user out of every browser
    after = {"display_name": user.display_name, "email": user.email, "active": user.active,
             "roles": user.role_names}
    diff_before = {k: v for k, v in before.items() if after[k] != v}
    diff_after = {k: after[k] for k in diff_before}
    if changed_password:
        diff_after["password"] = "changed"
    if diff_after:
        audit.record(g.session, "user.updated", actor=g.actor, record_type="user",
                     record_id=user.id, before=diff_before, after=diff_after)
    g.session.flush()
    return user


@api.post("/users/<int:user_id>/revoke-sessions")
@endpoint(permission="core.users.manage", response=UserSchema, tags=["admin"], errors=(404,))
def revoke_sessions(user_id: int) -> Any:
    """Sign a user out of every browser and revoke all their API tokens."""
    user = _get_user(user_id)
    user.session_version += 1
    now = utcnow()
    for token in g.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                          ApiToken.revoked_at.is_(None))):
        token.revoked_at = now
    audit.record(g.session, "user.sessions_revoked", actor=g.actor, record_type="user",
                 record_id=user.id)
    return user


# ------------------------------------------------------------------ roles

def _role_dict(role: Role) -> dict[str, Any]:
    perms = set(_rt().registry.permissions) if role.name == "admin" else role.permissions
    return {"name": role.name, "title": role.title, "builtin": role.builtin,
            "permissions": sorted(perms)}


@api.get("/roles")
@endpoint(permission="core.users.view", response=RoleSchema, many=True, tags=["admin"])
def list_roles() -> Any:
    """Roles with the permissions each holds."""
    return [_role_dict(r) for r in g.session.scalars(select(Role).order_by(Role.id))]


@api.post("/roles")
@endpoint(permission="core.roles.manage", body=RoleCreateSchema, response=RoleSchema, status=201,
          tags=["admin"], errors=(409,))
def create_role(data: dict[str, Any]) -> Any:
    """Create a shop-specific role."""
    if g.session.scalar(select(Role.id).where(Role.name == data["name"])):
        raise Conflict(f"A role named {data['name']!r} exists.", fields={"name": ["Taken."]})
    role = Role(name=data["name"], title=data["title"], builtin=False)
    g.session.add(role)
    g.session.flush()
    audit.record(g.session, "role.created", actor=g.actor, record_type="role", record_id=role.name,
                 after={"title": role.title})
    auth.set_role_permissions(g.session, role.name, data["permissions"], _rt().registry.permissions,
                              g.actor)
    return _role_dict(role)


@api.put("/roles/<string:name>/permissions")
@endpoint(permission="core.roles.manage", body=RolePermissionsSchema, response=RoleSchema,
          tags=["admin"], errors=(404, 409))
def set_role_permissions(name: str, data: dict[str, Any]) -> Any:
    """Replace the permissions a role holds (audited)."""
    role = auth.set_role_permissions(g.session, name, data["permissions"],
                                     _rt().registry.permissions, g.actor)
    return _role_dict(role)


@api.get("/permissions")
@endpoint(permission="core.users.view", response=PermissionSchema, many=True, tags=["admin"])
def list_permissions() -> Any:
    """Every permission the enabled plugins declare."""
    reg = _rt().registry
    return [{"name": p.name, "title": p.title, "plugin": reg.permission_owner[p.name],
             "default_roles": list(p.default_roles)} for p in reg.permissions.values()]


# --------------------------------------------------------------- settings

@api.get("/settings")
@endpoint(permission="core.settings.view", response=SettingsListSchema, tags=["admin"])
def get_settings() -> Any:
    """Every enabled plugin's settings: type, default, help and current value."""
    return {"items": settings.describe(g.session, _rt().registry.settings)}


@api.put("/settings/<string:plugin>")
@endpoint(permission="core.settings.edit", body=SettingsUpdateSchema, response=SettingsListSchema,
          tags=["admin"], errors=(404,))
def put_settings(plugin: str, data: dict[str, Any]) -> Any:
    """Change some of a plugin's settings (validated, audited)."""
    declared = _rt().registry.settings
    settings.update(g.session, declared, plugin, data["values"], g.actor, hook=_rt().hook)
    return {"items": [p for p in settings.describe(g.session, declared) if p["plugin"] == plugin]}


# ------------------------------------------------------------------ audit

@api.get("/audit")
@endpoint(permission="core.audit.view", query=AuditListArgs, response=AuditEntrySchema,
          paginated=True, tags=["audit"])
def list_audit(args: dict[str, Any]) -> Page:
    """The audit trail, newest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    for key in ("action", "record_type", "record_id", "actor_id"):
        if args[key] is not None:
            stmt = stmt.where(getattr(AuditEntry, key) == args[key])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@api.get("/audit/verify")
@endpoint(permission="core.audit.view", response=AuditVerifySchema, tags=["audit"])
def verify_audit() -> Any:
    """Recompute the hash chain; names the first row that does not match."""
    return audit.verify(g.session)


# ---------------------------------------------------------------- reports

@api.get("/reports")
@endpoint(permission="core.reports.view", response=ReportListSchema, tags=["reports"])
def list_reports() -> Any:
    """Reports you may run."""
    reg, perms = _rt().registry, _rt().permissions_of(g.actor)
    return {"items": [{"name": r.name, "title": r.title, "description": r.description,
                       "plugin": reg.report_owner[r.name],
                       "params": list(r.params().fields) if r.params else []}
                      for r in reg.reports.values() if r.permission in perms]}


@api.get("/reports/<string:name>")
@endpoint(signed_in=True, query=ReportArgs, response=ReportResultSchema, tags=["reports"],
          errors=(403, 404))
def run_report(name: str, args: dict[str, Any]) -> Any:
    """Run a report; its own parameters come in the query string. ``format=csv``
    answers a CSV download."""
    report = reports.find(_rt().registry.reports, name)
    if report.permission not in _rt().permissions_of(g.actor):
        raise Forbidden(f"You need the permission {report.permission!r}.")
    raw = {k: v for k, v in request.args.items() if k != "format"}
    params, result = reports.run(g.session, report, raw)
    if args["format"] == "csv":
        return Response(reports.as_csv(result), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{report.name}.csv"'})
    return reports.as_json(report, params, result)


# ----------------------------------------------------------------- search

@api.get("/search")
@endpoint(signed_in=True, query=SearchArgs, response=SearchResponseSchema, tags=["search"])
def search(args: dict[str, Any]) -> Any:
    """Unified search across every enabled plugin; exact identifiers first."""
    query = args["q"].strip()
    if not query:
        raise Invalid("Type something to search for.", fields={"q": ["Must not be blank."]})
    return {"query": query, "results": unified_search(_rt(), g.session, query, g.actor, args["limit"])}


# ------------------------------------------------------------------- jobs

@api.get("/jobs")
@endpoint(permission="core.jobs.view", query=JobListArgs, response=JobSchema, paginated=True,
          tags=["admin"])
def list_jobs(args: dict[str, Any]) -> Page:
    """Background jobs, newest first, with their status and last error."""
    stmt = select(OutboxJob).order_by(OutboxJob.id.desc())
    if args["status"]:
        stmt = stmt.where(OutboxJob.status == args["status"])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@api.post("/jobs/<int:job_id>/retry")
@endpoint(permission="core.jobs.manage", response=JobSchema, tags=["admin"], errors=(404, 409))
def retry_job(job_id: int) -> Any:
    """Try a failed job again (audited)."""
    from core.jobs import dispatch
    row = g.session.get(OutboxJob, job_id)
    if row is None:
        raise NotFound(f"No job {job_id}.")
    if row.status != "failed":
        raise Conflict("Only a failed job can be retried.")
    row.status, row.run_after, row.max_attempts = "pending", utcnow(), row.attempts + 1
    audit.record(g.session, "job.retried", actor=g.actor, record_type="job", record_id=row.id)
    rt = _rt()
    after_commit(g.session, lambda: dispatch(rt, [job_id]))
    return row


# ---------------------------------------------------------------- openapi

@api.get("/openapi.json")
@endpoint(public=True, tags=["meta"])
def openapi() -> Any:
    """This document."""
    from core.openapi import document
    return document(_rt())
