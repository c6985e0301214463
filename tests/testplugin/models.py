from __future__ import annotations

from typing import Optional

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core import IdMixin, Model, TimestampMixin


class Note(IdMixin, TimestampMixin, Model):
    """A note; created by the API, by the user_created hook and by the demo loader."""
    __tablename__ = "testplugin_note"
    body: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="note")
    user_id: Mapped[Optional[int]]
