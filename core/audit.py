"""The audit log: who did what, when, with before and after values.

Append-only and hash-chained: each entry's hash covers its content and the previous
entry's hash. ``verify`` recomputes the chain and names the first bad row.

:func:`record` only notes an entry in the session; the unit of work writes its entries
when it commits (a ``before_commit`` listener), in one batch under a lock on the single
``audit_head`` row. The chain keeps one order across app processes, and the lock is
held only from that batch to the commit, not from a request's first audited change —
on PostgreSQL concurrent sales would otherwise queue behind each other's whole work.
Entries noted inside a savepoint that rolls back are dropped with it; a rolled-back
unit of work writes none.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from core.db import dialect_insert, utcnow
from core.models import AuditEntry, AuditHead, User

GENESIS = "0" * 64
_PENDING = "counterdesk.audit.pending"
_MARKS = "counterdesk.audit.savepoints"
_FIELDS = ("at", "actor_id", "actor_name", "action", "record_type", "record_id", "before",
           "after", "reason", "ip")


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


def _digest(prev_hash: str, entry: AuditEntry | Mapping[str, Any]) -> str:
    """The hash of one entry (a stored row or the values about to be written)."""
    values = entry if isinstance(entry, Mapping) else {f: getattr(entry, f) for f in _FIELDS}
    at = values["at"].astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(
        timespec="microseconds")
    body = json.dumps({**{f: values[f] for f in _FIELDS}, "prev": prev_hash, "at": at},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def record(session: Session, action: str, *, actor: User | None, record_type: str | None = None,
           record_id: Any = None, before: dict | None = None, after: dict | None = None,
           reason: str | None = None, ip: str | None = None) -> None:
    """Note an entry in ``session``'s transaction: it is written when the transaction
    commits and never if it rolls back (or if the savepoint around it does)."""
    if ip is None:
        ip = _request_ip()
    session.info.setdefault(_PENDING, []).append({
        "at": utcnow(), "actor_id": actor.id if actor else None,
        "actor_name": actor.username if actor else "system", "action": action,
        "record_type": record_type, "record_id": None if record_id is None else str(record_id),
        "before": _jsonable(before) if before is not None else None,
        "after": _jsonable(after) if after is not None else None,
        "reason": reason, "ip": ip,
    })


def write_pending(session: Session) -> int:
    """Write the entries noted so far in ``session`` (locking the chain's head until
    the transaction ends); returns how many. The unit of work calls this at commit;
    code that reads the audit log back inside the same transaction may call it first."""
    pending = session.info.get(_PENDING)
    if not pending:
        return 0
    session.info[_PENDING] = []
    session.info.pop(_MARKS, None)
    head_t = AuditHead.__table__
    conn = session.connection()
    prev = conn.execute(_LOCK_HEAD).scalar()
    if prev is None:   # the first entry ever; concurrent first writers create one head
        conn.execute(dialect_insert(conn.dialect.name)(head_t).values(id=1, last_id=None, last_hash=GENESIS)
                     .on_conflict_do_nothing(index_elements=["id"]))
        prev = conn.execute(_LOCK_HEAD).scalar_one()
    for values in pending:
        values["prev_hash"] = prev
        # The row is written once, hash included: the database refuses updates to it.
        values["hash"] = prev = _digest(prev, values)
    # One multi-row INSERT. Both databases number the rows of one VALUES list in its
    # order (rowid / the sequence as the rows are produced), so the chain's order is
    # the id order and the last entry has the highest id.
    last_id = max(row.id for row in conn.execute(_INSERT_ENTRIES, pending))
    conn.execute(_MOVE_HEAD, {"last": last_id, "hash": prev})
    return len(pending)


_LOCK_HEAD = (select(AuditHead.__table__.c.last_hash).where(AuditHead.__table__.c.id == 1)
              .with_for_update())
_INSERT_ENTRIES = insert(AuditEntry.__table__).returning(AuditEntry.__table__.c.id)
_MOVE_HEAD = (update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
              .values(last_id=bindparam("last"), last_hash=bindparam("hash")))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        write_pending(session)


@event.listens_for(Session, "after_transaction_create")
def _savepoint_opened(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested and session.info.get(_PENDING):
        session.info.setdefault(_MARKS, {})[transaction] = len(session.info[_PENDING])


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, transaction: SessionTransaction) -> None:
    if not transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_MARKS, None)
        return
    mark = session.info.get(_MARKS, {}).pop(transaction, None)
    pending = session.info.get(_PENDING)
    if pending:
        del pending[mark or 0:]


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
