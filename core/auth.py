"""Users, roles, permissions, passwords, API tokens and sign-in throttling.

Every view declares what it needs with :func:`require` (a permission) or
:func:`public`; the app refuses to start with a route that does neither, and a
``before_request`` hook enforces the declaration for every request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any, Callable, Iterable, TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from core import audit
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, TooManyRequests
from core.models import ApiToken, LoginAttempt, PermissionSeed, Role, RolePermission, User
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

def permissions_of(user: User, registry_permissions: Iterable[str]) -> set[str]:
    """What ``user`` may do: every permission for admin, else the union of grants
    (limited to permissions that enabled plugins declare)."""
    declared = set(registry_permissions)
    if not user.active:
        return set()
    if any(r.name == "admin" for r in user.roles):
        return declared
    granted: set[str] = set()
    for role in user.roles:
        granted |= role.permissions
    return granted & declared


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
                roles=[found[r] for r in roles])
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


# The bearer-token check runs on every API request: one prebuilt statement (its cache
# key computed once) reads the token's state with its user, and the user's roles and
# their grants come in the same round trip (joined) rather than two selectin queries.
_TOKEN_USER = (
    select(User, ApiToken.revoked_at, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .options(joinedload(User.roles).joinedload(Role.grants))
)


def user_for_token(session: Session, clear: str) -> User | None:
    row = session.execute(_TOKEN_USER, {"token_hash": _token_hash(clear)}).unique().first()
    if row is None:
        return None
    user, revoked_at, expires_at = row
    if revoked_at is not None or not user.active:
        return None
    if expires_at is not None and expires_at <= utcnow():
        return None
    return user


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
