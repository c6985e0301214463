"""``create_app(config=None)``: the Flask app factory.

Loads config, opens the database, builds the plugin manager and lets each enabled
plugin register its blueprints (and, through the runtime, models, permissions, menus,
reports, settings, commands and jobs). One unit of work per request: committed when
the response is a success, rolled back otherwise.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from flask import Flask, Response, g, redirect, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import IntegerConverter

from core import auth
from core.config import Config
from core.db import bind_session, discard_after_commit, run_after_commit
from core.errors import (BadRequest, Conflict, DomainError, Forbidden, PluginError,
                         Unauthorized)
from core.rest import error_response
from core.runtime import Runtime, set_current

log = logging.getLogger("counterdesk")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

csrf = CSRFProtect()
login_manager = LoginManager()


def create_app(config: dict[str, Any] | Config | None = None, *,
               plugins: Iterable[Any] = ()) -> Flask:
    cfg = config if isinstance(config, Config) else Config.load(config)
    cfg.ensure_instance()
    runtime = Runtime(cfg, extra_plugins=plugins)
    set_current(runtime)

    app = Flask("core", instance_path=cfg.instance_path,
                template_folder="web/templates", static_folder="web/static")
    app.config.update(
        SECRET_KEY=cfg.resolved_secret_key(),
        TESTING=cfg.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_CHECK_DEFAULT=False,   # checked in _authorize for cookie-authenticated writes
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.extensions["counterdesk"] = runtime
    app.json.sort_keys = False

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "web.login"
    login_manager.user_loader(_load_user)

    app.url_map.converters["int"] = IdConverter
    for plugin, bp in runtime.plugins.collect("register_blueprints"):
        app.register_blueprint(bp)
    for endpoint, view in app.view_functions.items():
        if endpoint == "static" or endpoint.endswith(".static"):   # static files: public assets
            view.__dict__["_cd_permission"] = auth.PUBLIC
    check_routes_declared(app)

    app.before_request(_refuse_nul)
    app.before_request(_open_unit_of_work)
    app.before_request(_authorize)
    app.after_request(_finish_unit_of_work)
    app.teardown_request(_close_unit_of_work)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)

    from core.web import install_template_globals
    install_template_globals(app, runtime)
    return app


class IdConverter(IntegerConverter):
    """``<int:...>`` path arguments name rows with 64-bit ids: a larger number is a 404,
    not a database overflow (a 500). Raised here rather than through ``max=``, whose
    ValidationError makes werkzeug answer 405 when a rule for another method matches
    the same path."""
    limit = 2**63 - 1

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > self.limit:
            raise RouteNotFound()
        return number


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["counterdesk"]


def check_routes_declared(app: Flask) -> None:
    """Refuse to start with a route that neither names a permission nor is public."""
    missing = sorted(rule.rule for rule in app.url_map.iter_rules()
                     if auth.declared_permission(app.view_functions[rule.endpoint]) is None)
    if missing:
        raise PluginError("routes without a permission or @public: " + ", ".join(missing))


def is_api_request() -> bool:
    return request.path.startswith("/api/")


# ------------------------------------------------------------ request lifecycle

def _load_user(user_id: str) -> Any:
    try:
        uid, version = (int(p) for p in user_id.split(":"))
    except ValueError:
        return None
    return auth.user_for_session(g.session, uid, version, g.runtime.permission_cache)


def _refuse_nul() -> None:
    """A NUL character names nothing a shop types, and PostgreSQL cannot store one in
    text: refused in the path, the query, form fields and headers (JSON bodies:
    ``core.rest.load_body``) before anything is read or written."""
    if ("\x00" in request.path
            or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True))
            or any("\x00" in v for v in request.headers.values())
            or (request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
                and any("\x00" in k or "\x00" in v
                        for k, v in request.form.items(multi=True)))):
        raise BadRequest("The request contains a NUL character (\\u0000), which no field "
                         "may hold.")


def _open_unit_of_work() -> None:
    runtime = runtime_of(_app())
    g.runtime = runtime
    g.session = runtime.db.session(write=request.method not in SAFE_METHODS)
    g.session_binding = bind_session(g.session)
    g.session_binding.__enter__()
    g.actor = None
    g.auth_method = None


def _authorize() -> Response | None:
    view = _app().view_functions.get(request.endpoint) if request.endpoint else None
    needed = auth.declared_permission(view) if view else auth.PUBLIC
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = auth.user_for_token(g.session, header[7:].strip(), g.runtime.permission_cache)
        if user is None and needed != auth.PUBLIC:
            raise Unauthorized("The API token is not valid, expired or revoked.",
                               headers={"WWW-Authenticate": "Bearer"})
        g.actor, g.auth_method = user, "token"
    elif current_user.is_authenticated:
        g.actor, g.auth_method = current_user._get_current_object(), "session"
    if request.method not in SAFE_METHODS and (not is_api_request() or g.auth_method == "session"):
        csrf.protect()
    if needed == auth.PUBLIC:
        return None
    if g.actor is None:
        if is_api_request():
            raise Unauthorized("Sign in first: send 'Authorization: Bearer <token>'.",
                               headers={"WWW-Authenticate": "Bearer"})
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    if needed == auth.SIGNED_IN:
        return None
    if needed not in g.runtime.permissions_of(g.actor):
        raise Forbidden(f"You need the permission {needed!r}.", fields={"permission": needed})
    return None


def _finish_unit_of_work(resp: Response) -> Response:
    session = g.get("session")
    if session is None:
        return resp
    if resp.status_code >= 400 or g.get("rollback"):
        session.rollback()
        discard_after_commit(session)
        return resp
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        discard_after_commit(session)
        log.info("integrity error at commit: %s", exc.orig)
        return _domain_error(Conflict("That conflicts with an existing record."))
    except OperationalError:
        session.rollback()
        discard_after_commit(session)
        log.exception("database error at commit")
        return _domain_error(DomainError("The database is busy; try again.",
                                         code="unavailable"), status=503)
    except StatementError as exc:   # after its subclasses above (IntegrityError …)
        if not isinstance(exc.orig, DomainError):
            raise
        session.rollback()   # a value refused while binding (core.db.Money)
        discard_after_commit(session)
        return _domain_error(exc.orig)
    run_after_commit(session)
    return resp


def _close_unit_of_work(exc: BaseException | None) -> None:
    session = g.pop("session", None)
    if session is not None:
        if session.in_transaction():
            session.rollback()
        session.close()
    binding = g.pop("session_binding", None)
    if binding is not None:
        binding.__exit__(None, None, None)


# ----------------------------------------------------------------- errors

def _domain_error(exc: DomainError, status: int | None = None) -> Response:
    if g.get("session") is not None:
        g.rollback = True
    if is_api_request() or not request.accept_mimetypes.accept_html:
        resp = error_response(exc)
        if status:
            resp.status_code = status
        return resp
    from core.web import render_error
    return render_error(exc, status or exc.status)


def _csrf_error(exc: CSRFError) -> Response:
    return _domain_error(DomainError(f"CSRF check failed: {exc.description}", code="csrf_failed"))


def _http_error(exc: HTTPException) -> Response:
    err = DomainError(exc.description or exc.name, code=exc.name.lower().replace(" ", "_"))
    err.status = exc.code or 500
    resp = _domain_error(err)
    # Keep protocol headers such as Allow on 405 and Retry-After.
    for k, v in exc.get_headers():
        if k.lower() != "content-type":
            resp.headers[k] = v
    return resp


def _unexpected_error(exc: Exception) -> Response:
    if isinstance(exc, IntegrityError):
        return _domain_error(Conflict("That conflicts with an existing record."))
    if isinstance(exc, StatementError) and isinstance(exc.orig, DomainError):
        return _domain_error(exc.orig)   # raised while binding a value (core.db.Money)
    log.exception("unhandled error on %s %s", request.method, request.path)
    err = DomainError("Something went wrong on our side; it has been logged.", code="internal_error")
    err.status = 500
    return _domain_error(err)


def _app() -> Flask:
    from flask import current_app
    return current_app._get_current_object()  # type: ignore[attr-defined]
