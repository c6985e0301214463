from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import IdMixin, Model, TimestampMixin


class Notice(IdMixin, TimestampMixin, Model):
    __tablename__ = "bulletin_notice"
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[Optional[int]]
    expires_on: Mapped[Optional[dt.date]]
