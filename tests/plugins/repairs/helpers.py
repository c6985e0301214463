"""Small readers of the repairs tables for assertions."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select


def status_changes(desk: Any, ticket_id: int) -> list[Any]:
    from core.runtime import current
    from plugins.repairs.models import StatusChange
    with current().unit_of_work(write=False) as s:
        return list(s.scalars(select(StatusChange).where(StatusChange.ticket_id == ticket_id)
                              .order_by(StatusChange.id)))
