"""Users, roles, permissions, passwords, API tokens and sign-in throttling.

Every view declares what it needs with :func:`require` (a permission) or
:func:`public`; the app refuses to start with a route that does neither, and a
``before_request`` hook enforces the declaration for every request.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from typing import Any, Callable, Iterable, TypeVar

from sqlalchemy import String, bindparam, cast, event, func, literal_column, select
from sqlalchemy.orm import Session, make_transient_to_detached, object_session
from werkzeug.security import check_password_hash, generate_password_hash

from core import audit
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, TooManyRequests
from core.models import (ApiToken, GrantsVersion, LoginAttempt, PermissionSeed, Role,
                         RolePermission, User, user_roles)
from core.types import DEFAULT_ROLES, Permission

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "__public__"
SIGNED_IN = "__signed_in__"   # any signed-in user, no particular permission

ROLE_TITLES = {
    "admin": "Administrator", "owner": "Owner", "manager": "Store manager",
    "cashier": "Cashier", "technician": "Technician", "warranty_manager": "Warranty manager",
    "finance": "Finance", "read_only": "Read only",
}

# A hash computed once so that an unknown username costs as much as a wrong password.
_DUMMY_HASHES: dict[str, str] = {}


def require(permission: str) -> Callable[[F], F]:
    """Mark a view as needing ``permission`` (checked before the view runs)."""
    def mark(fn: F) -> F:
        fn.__dict__["_cd_permission"] = permission
        return fn
    return mark


def signed_in(fn: F) -> F:
    """Mark a view as open to any signed-in user."""
    fn.__dict__["_cd_permission"] = SIGNED_IN
    return fn


def public(fn: F) -> F:
    """Mark a view as open to anyone, signed in or not."""
    fn.__dict__["_cd_permission"] = PUBLIC
    return fn


def declared_permission(view: Callable[..., Any]) -> str | None:
    return getattr(view, "_cd_permission", None)


# ------------------------------------------------------------------ passwords

def hash_password(password: str, method: str) -> str:
    return generate_password_hash(password, method=method)


def check_password(user: User | None, password: str, method: str) -> bool:
    if user is None or not user.active:
        dummy = _DUMMY_HASHES.setdefault(method, generate_password_hash("x", method=method))
        check_password_hash(dummy, password)
        return False
    return check_password_hash(user.password_hash, password)


def validate_password(password: str) -> None:
    if len(password) < 8:
        raise Invalid("The password is too short.", fields={"password": ["At least 8 characters."]})
    if len(password) > 1024:
        raise Invalid("The password is too long.", fields={"password": ["At most 1024 characters."]})


# ---------------------------------------------------------------- permissions

def permissions_of(user: User, registry_permissions: Iterable[str],
                   cache: PermissionCache | None = None) -> set[str]:
    """What ``user`` may do: every permission for admin, else the union of grants
    (limited to permissions that enabled plugins declare).

    A user signed in with ``cache`` carries the set read at sign-in; it is used unless
    the user's roles were loaded (or changed), or roles or grants were written, in the
    user's unit of work: then the set is worked out from the roles, as for any user."""
    if not user.active:
        return set()
    carried = user.__dict__.get(_GRANTED)
    if (carried is not None and carried[0] is cache and "roles" not in user.__dict__
            and not _grants_written_in_session_of(user)):
        return set(carried[1])
    declared = set(registry_permissions)
    if any(r.name == "admin" for r in user.roles):
        return declared
    granted: set[str] = set()
    for role in user.roles:
        granted |= role.permissions
    return granted & declared


def _grants_written_in_session_of(user: User) -> bool:
    session = object_session(user)
    return session is not None and session.info.get(_GRANTS_CHANGED, False)


def seed_roles(session: Session, permissions: Iterable[Permission]) -> None:
    """Create the built-in roles and apply each permission's default grants the first
    time this database sees it (later changes by an admin are kept)."""
    roles = {r.name: r for r in session.scalars(select(Role))}
    for name in DEFAULT_ROLES:
        if name not in roles:
            roles[name] = Role(name=name, title=ROLE_TITLES[name], builtin=True)
            session.add(roles[name])
    session.flush()
    seeded = set(session.scalars(select(PermissionSeed.permission)))
    for perm in permissions:
        if perm.name in seeded:
            continue
        for role_name in perm.default_roles:
            role = roles[role_name]
            if perm.name not in role.permissions:
                role.grants.append(RolePermission(permission=perm.name))
        session.add(PermissionSeed(permission=perm.name))
    session.flush()


def set_role_permissions(session: Session, role_name: str, permissions: list[str],
                         declared: Iterable[str], actor: User) -> Role:
    role = session.scalar(select(Role).where(Role.name == role_name))
    if role is None:
        raise NotFound(f"No role named {role_name!r}.")
    if role.name == "admin":
        raise Conflict("The admin role always holds every permission.")
    declared = set(declared)
    unknown = sorted(set(permissions) - declared)
    if unknown:
        raise Invalid("Unknown permissions.", fields={"permissions": [f"unknown: {', '.join(unknown)}"]})
    before = sorted(role.permissions)
    wanted = set(permissions)
    # Grants of permissions from disabled plugins are kept untouched.
    role.grants = [g for g in role.grants if g.permission not in declared or g.permission in wanted]
    for name in sorted(wanted - role.permissions):
        role.grants.append(RolePermission(permission=name))
    session.flush()
    audit.record(session, "role.permissions_changed", actor=actor, record_type="role",
                 record_id=role.name, before={"permissions": before},
                 after={"permissions": sorted(role.permissions)})
    return role


# --------------------------------------------------------------------- users

def create_user(session: Session, *, username: str, password: str, roles: list[str],
                display_name: str = "", email: str | None = None, actor: User | None,
                password_method: str, hook: Any = None) -> User:
    username = username.strip()
    if not username:
        raise Invalid("A username is required.", fields={"username": ["Required."]})
    validate_password(password)
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"A user named {username!r} already exists.", fields={"username": ["Taken."]})
    found = {r.name: r for r in session.scalars(select(Role).where(Role.name.in_(roles)))}
    missing = [r for r in roles if r not in found]
    if missing:
        raise Invalid("Unknown roles.", fields={"roles": [f"unknown: {', '.join(missing)}"]})
    user = User(username=username, display_name=display_name or username, email=email,
                password_hash=hash_password(password, password_method),
                roles=[found[r] for r in dict.fromkeys(roles)])   # a role named twice is one
    session.add(user)
    session.flush()
    audit.record(session, "user.created", actor=actor, record_type="user", record_id=user.id,
                 after={"username": user.username, "roles": user.role_names})
    if hook is not None:
        hook.user_created(session=session, user=user, actor=actor)
    return user


# -------------------------------------------------------------------- tokens

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, name: str = "", ttl_days: int = 0) -> tuple[ApiToken, str]:
    """A new bearer token; only its SHA-256 is stored, the clear text is returned once."""
    clear = "cd_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(clear), prefix=clear[:10],
                     expires_at=utcnow() + dt.timedelta(days=ttl_days) if ttl_days else None)
    session.add(token)
    session.flush()
    audit.record(session, "token.issued", actor=user, record_type="api_token", record_id=token.id,
                 after={"name": name, "prefix": token.prefix})
    return token, clear


# ------------------------------------------------------------------ sign-in
#
# Signing in runs on every request. One prebuilt statement (per dialect) reads, as plain
# columns, the token's state (or the user by id, for a browser session), the user's
# columns, the ids of the user's roles and the grants version; the User is then put
# into the request's session as if loaded, without the ORM's loading machinery or
# its roles and grants. The permission set comes from the process's PermissionCache,
# which keeps one set per combination of roles for one grants version only.

_GRANTED = "_cd_granted"                # on a signed-in User: (cache, its permissions)
_GRANTS_CHANGED = "cd_grants_changed"   # in session.info: roles or grants were written

_USER_MAPPER = User.__mapper__
# Read at sign-in: what a request uses of its actor. The rest (the password hash and the
# timestamps, whose parsing costs more than reading them) loads if touched.
_USER_COLUMNS = tuple(c for c in User.__table__.c
                      if c.key not in ("password_hash", "created_at", "updated_at"))
_USER_ATTRS = tuple(_USER_MAPPER.get_property_by_column(c).key for c in _USER_COLUMNS)
_GRANTS_VERSION = (select(GrantsVersion.version).where(GrantsVersion.id == 1)
                   .scalar_subquery().label("cd_grants_version"))


def _role_ids(dialect: str) -> Any:
    """The user's role ids as one comma-separated string (NULL when none)."""
    if dialect == "postgresql":
        agg = func.string_agg(cast(user_roles.c.role_id, String), literal_column("','"))
    else:
        agg = func.group_concat(user_roles.c.role_id)
    return (select(agg).where(user_roles.c.user_id == User.id)
            .scalar_subquery().label("cd_role_ids"))


@functools.cache   # built once per dialect and kind (its cache key computed once)
def _sign_in_statement(dialect: str, by: str) -> Any:
    columns = (*_USER_COLUMNS, _role_ids(dialect), _GRANTS_VERSION)
    if by == "token":
        return (select(*columns, ApiToken.revoked_at, ApiToken.expires_at)
                .select_from(ApiToken).join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == bindparam("token_hash")))
    return select(*columns).where(User.id == bindparam("user_id"))


def _sign_in_row(session: Session, by: str, params: dict[str, Any]) -> Any:
    conn = session.connection()
    return conn.execute(_sign_in_statement(conn.dialect.name, by), params).first()


class PermissionCache:
    """The permission set of each combination of roles, for one grants version.

    One per runtime (so per process). Nothing in it outlives a version: the sign-in
    statement reads ``grants_version`` with the user's role ids, and the database
    changes that row in the same transaction as any change to roles or grants (see
    migration 0006), so a grant removed in one process is gone from the next request
    in every process. A user's roles are read on every request, not cached.
    """

    def __init__(self, declared: Iterable[str]) -> None:
        self.declared = frozenset(declared)
        self._version: int | None = None
        self._sets: dict[tuple[int, frozenset[str]], frozenset[str]] = {}

    def permissions(self, session: Session, role_ids: str | None,
                    version: int | None) -> frozenset[str]:
        """The permissions of the roles ``role_ids`` (comma-separated) at ``version``
        (None: no version row, nothing is cached)."""
        if not role_ids:
            return frozenset()
        roles = frozenset(role_ids.split(","))
        if version != self._version:
            self._sets = {}   # entries are keyed by version too: a racing request can't mix them
            self._version = version
        found = self._sets.get((version, roles)) if version is not None else None
        if found is None:
            found, loaded_at = self._load(session, roles)
            if version is not None and loaded_at == version:
                self._sets[(version, roles)] = found
        return found

    def _load(self, session: Session, roles: frozenset[str]) -> tuple[frozenset[str], int | None]:
        """The permissions of ``roles`` and the version they were read at (one statement,
        so they agree even where each statement sees the latest commit)."""
        ids = [int(r) for r in roles]
        rows = session.connection().execute(_ROLE_GRANTS, {"role_ids": ids}).all()
        if not rows:
            return frozenset(), None
        if any(row.name == "admin" for row in rows):
            return self.declared, rows[0].cd_grants_version
        granted = {row.permission for row in rows if row.permission is not None}
        return frozenset(granted & self.declared), rows[0].cd_grants_version


_ROLE_GRANTS = (select(Role.name, RolePermission.permission, _GRANTS_VERSION)
                .select_from(Role).outerjoin(RolePermission, RolePermission.role_id == Role.id)
                .where(Role.id.in_(bindparam("role_ids", expanding=True))))


def _signed_in(session: Session, row: Any, cache: PermissionCache | None) -> User:
    """The User of ``row`` in ``session``, as if loaded there (its relationships load if
    touched), carrying its permissions from ``cache``."""
    user = session.identity_map.get(_USER_MAPPER.identity_key_from_primary_key((row.id,)))
    if user is None:
        user = _USER_MAPPER.class_manager.new_instance()
        user.__dict__.update(zip(_USER_ATTRS, row))
        make_transient_to_detached(user)   # persistent once added: no pending changes
        session.add(user)
    if cache is not None:
        setattr(user, _GRANTED, (cache, cache.permissions(session, row.cd_role_ids,
                                                          row.cd_grants_version)))
    return user


def user_for_token(session: Session, clear: str,
                   permissions: PermissionCache | None = None) -> User | None:
    """The active user holding the bearer token ``clear`` (None when it is unknown,
    revoked or expired), with its permissions from ``permissions`` when given."""
    row = _sign_in_row(session, "token", {"token_hash": _token_hash(clear)})
    if row is None or row.revoked_at is not None or not row.active:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return _signed_in(session, row, permissions)


def user_for_session(session: Session, user_id: int, session_version: int,
                     permissions: PermissionCache | None = None) -> User | None:
    """The active user ``user_id`` if their session version is still
    ``session_version`` (a browser session's sign-in), else None."""
    row = _sign_in_row(session, "id", {"user_id": user_id})
    if row is None or not row.active or row.session_version != session_version:
        return None
    return _signed_in(session, row, permissions)


def _note_grants_changed(mapper: Any, connection: Any, target: Any) -> None:
    """Roles or grants written in a session: its signed-in users' permissions are
    worked out from their roles again for the rest of that unit of work."""
    session = object_session(target)
    if session is not None:
        session.info[_GRANTS_CHANGED] = True


for _model in (Role, RolePermission):
    for _event in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _event, _note_grants_changed)


def revoke_token(session: Session, token_id: int, actor: User, *, may_revoke_others: bool) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and not may_revoke_others):
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, "token.revoked", actor=actor, record_type="api_token",
                     record_id=token.id, after={"user_id": token.user_id, "prefix": token.prefix})
    return token


# ---------------------------------------------------------------- throttling

def check_throttle(session: Session, username: str, ip: str, *, max_user: int, max_ip: int,
                   window: int) -> None:
    """429 when too many failed sign-ins for this username or address in the window."""
    since = utcnow() - dt.timedelta(seconds=window)
    base = select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    by_user = session.scalar(base.where(LoginAttempt.username == username.lower()))
    by_ip = session.scalar(base.where(LoginAttempt.ip == ip))
    if by_user >= max_user or by_ip >= max_ip:
        raise TooManyRequests("Too many failed sign-ins. Wait a few minutes and try again.",
                              headers={"Retry-After": str(window)})


def record_attempt(session: Session, username: str, ip: str, success: bool,
                   throttled: bool = False) -> None:
    session.add(LoginAttempt(username=username.lower(), ip=ip, success=success))
    if not success:
        audit.record(session, "auth.login_throttled" if throttled else "auth.login_failed",
                     actor=None, record_type="user", record_id=username[:64],
                     after={"username": username[:64]}, ip=ip)
