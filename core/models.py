"""The kernel's own tables: users, roles, grants, tokens, sign-in attempts, audit log,
settings, the job outbox and idempotency keys. Core tables carry no prefix."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import BigId, IdMixin, Model, TimestampMixin, utcnow

user_roles = Table(
    "user_roles", Model.metadata,
    Column("user_id", BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", BigId, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(IdMixin, Model):
    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    grants: Mapped[list["RolePermission"]] = relationship(
        back_populates="role", cascade="all, delete-orphan", lazy="selectin")

    @property
    def permissions(self) -> set[str]:
        return {g.permission for g in self.grants}


class RolePermission(Model):
    __tablename__ = "role_permissions"
    role_id: Mapped[int] = mapped_column(BigId, ForeignKey("roles.id", ondelete="CASCADE"),
                                         primary_key=True)
    permission: Mapped[str] = mapped_column(String(120), primary_key=True)
    role: Mapped[Role] = relationship(back_populates="grants")


class GrantsVersion(Model):
    """One row whose ``version`` the database changes, to a value it never held before,
    in the same transaction as any insert, update or delete on ``roles`` or
    ``role_permissions`` (triggers, migration 0006 — so no code path can forget). The
    sign-in statement reads it on every request; each process caches a set of roles'
    permissions for one version only (``core.auth.PermissionCache``)."""
    __tablename__ = "grants_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class PermissionSeed(Model):
    """A permission whose default grants this database has applied once; later admin
    changes to those grants are never overwritten."""
    __tablename__ = "permission_seeds"
    permission: Mapped[str] = mapped_column(String(120), primary_key=True)
    seeded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(IdMixin, TimestampMixin, Model):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[Optional[str]] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped to sign the user out everywhere (password change, admin revocation).
    session_version: Mapped[int] = mapped_column(default=1)
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")

    @property
    def role_names(self) -> list[str]:
        return sorted(r.name for r in self.roles)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class ApiToken(IdMixin, Model):
    __tablename__ = "api_tokens"
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[dt.datetime]]
    expires_at: Mapped[Optional[dt.datetime]]
    revoked_at: Mapped[Optional[dt.datetime]]
    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(IdMixin, Model):
    """Sign-in attempts, kept in the database so every app process throttles alike."""
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_ip_at", "ip", "at"))
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(IdMixin, Model):
    """Append-only, hash-chained: ``hash`` covers this row's content and the previous
    row's hash, so an edit, insertion or deletion behind the application's back breaks
    the chain at that row."""
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_record", "record_type", "record_id"),)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(BigId)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(120), index=True)
    record_type: Mapped[Optional[str]] = mapped_column(String(64))
    record_id: Mapped[Optional[str]] = mapped_column(String(64))
    before: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    after: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    reason: Mapped[Optional[str]] = mapped_column(Text)
    ip: Mapped[Optional[str]] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Model):
    """One row: the chain's last hash. Writers lock it, so appends are serialised."""
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[Optional[int]] = mapped_column(BigId)
    last_hash: Mapped[str] = mapped_column(String(64))


class SettingValue(Model):
    __tablename__ = "settings"
    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[Optional[int]] = mapped_column(BigId)


class OutboxJob(IdMixin, Model):
    """A job written in the same transaction as the change that asked for it.

    status: pending (waiting to be handed over or retried), queued (handed to RQ),
    running, done, failed (retries exhausted; ``last_error`` says why).
    """
    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_status_run_after", "status", "run_after"),)
    name: Mapped[str] = mapped_column(String(120))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=4)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[Optional[dt.datetime]]
    started_at: Mapped[Optional[dt.datetime]]
    finished_at: Mapped[Optional[dt.datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(Text)


class IdempotencyKey(IdMixin, Model):
    """The first answer to a POST carrying an ``Idempotency-Key``, replayed on retry."""
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[Optional[int]]
    response_body: Mapped[Optional[str]] = mapped_column(Text)
    response_headers: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


CORE_MODELS = (user_roles, Role, RolePermission, GrantsVersion, PermissionSeed, User, ApiToken,
               LoginAttempt, AuditEntry, AuditHead, SettingValue, OutboxJob, IdempotencyKey)
