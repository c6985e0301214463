"""Small helpers the record services share."""
from __future__ import annotations

from typing import Any, Iterable, TypeVar

from sqlalchemy.orm import Session

from core.errors import NotFound

T = TypeVar("T")


def get_or_404(session: Session, model: type[T], record_id: Any, label: str) -> T:
    """The row of ``model`` with ``record_id``, or :class:`NotFound` naming it."""
    row = session.get(model, record_id) if isinstance(record_id, int) else None
    if row is None:
        raise NotFound(f"No {label} {record_id}.", code=f"{label.replace(' ', '_')}_not_found")
    return row


def apply_changes(obj: Any, data: dict[str, Any], names: Iterable[str]) -> tuple[dict, dict]:
    """Set the attributes of ``obj`` named in ``names`` that ``data`` carries; return the
    (before, after) values of those that really changed."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in names:
        if name not in data:
            continue
        old, new = getattr(obj, name), data[name]
        if old != new:
            before[name], after[name] = old, new
            setattr(obj, name, new)
    return before, after


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name
