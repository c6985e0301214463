"""The audit log: who did what, when, with before and after values.

Append-only and hash-chained: each entry's hash covers its content and the previous
entry's hash. Writers lock the single ``audit_head`` row, so the chain has one order
even with many app processes; ``verify`` recomputes it and names the first bad row.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import AuditEntry, AuditHead, User

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return value


def _digest(prev_hash: str, entry: AuditEntry) -> str:
    at = entry.at.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = json.dumps({
        "prev": prev_hash, "at": at, "actor_id": entry.actor_id,
        "actor_name": entry.actor_name, "action": entry.action,
        "record_type": entry.record_type, "record_id": entry.record_id,
        "before": entry.before, "after": entry.after, "reason": entry.reason, "ip": entry.ip,
    }, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def record(session: Session, action: str, *, actor: User | None, record_type: str | None = None,
           record_id: Any = None, before: dict | None = None, after: dict | None = None,
           reason: str | None = None, ip: str | None = None) -> AuditEntry:
    """Append an entry in ``session``'s transaction (it commits or rolls back with the
    change it describes)."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_id=None, last_hash=GENESIS)
        session.add(head)
        session.flush()
    if ip is None:
        ip = _request_ip()
    entry = AuditEntry(
        at=utcnow(), actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else "system", action=action,
        record_type=record_type, record_id=None if record_id is None else str(record_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        reason=reason, ip=ip, prev_hash=head.last_hash,
    )
    # The row is written once, hash included: the database refuses updates to it.
    entry.hash = _digest(head.last_hash, entry)
    session.add(entry)
    session.flush()
    head.last_id = entry.id
    head.last_hash = entry.hash
    session.flush()
    return entry


def verify(session: Session, batch: int = 5000) -> dict[str, Any]:
    """Recompute the chain. ``{"ok", "checked", "first_bad_id"}``."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for entry in rows:
            if entry.prev_hash != prev or _digest(prev, entry) != entry.hash:
                return {"ok": False, "checked": checked, "first_bad_id": entry.id}
            prev = entry.hash
            checked += 1
            last_id = entry.id
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and head.last_hash != prev:
        # Rows after the last intact one were deleted.
        return {"ok": False, "checked": checked, "first_bad_id": (last_id or 0) + 1}
    return {"ok": True, "checked": checked, "first_bad_id": None}


def _request_ip() -> str | None:
    try:
        from flask import has_request_context, request
    except ImportError:  # pragma: no cover
        return None
    return request.remote_addr if has_request_context() else None
