"""The devices plugin's tables: printers and their print jobs."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer,
                        LargeBinary, String, Text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import IdMixin, Model, TimestampMixin

RefId = BigInteger().with_variant(Integer(), "sqlite")  # matches the kernel's ids

JOB_STATUSES = ("queued", "printing", "done", "failed")
JOB_KINDS = ("document", "test", "drawer")


class Printer(IdMixin, TimestampMixin, Model):
    """A receipt printer (and the cash drawer wired to it).

    ``uri`` says where it is (see ``transports``), ``profile`` which python-escpos
    capability profile describes it, ``columns`` its characters per line and
    ``encoding`` the code page it prints text in (``auto``: CP858, else CP437).
    """
    __tablename__ = "devices_printer"
    name: Mapped[str] = mapped_column(String(80), unique=True)
    uri: Mapped[str] = mapped_column(String(300))
    profile: Mapped[str] = mapped_column(String(60), default="default")
    columns: Mapped[int] = mapped_column(default=42)
    encoding: Mapped[str] = mapped_column(String(20), default="auto")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    location_id: Mapped[Optional[int]] = mapped_column(RefId, ForeignKey("locations.id"))

    __table_args__ = (CheckConstraint("columns BETWEEN 8 AND 96", name="columns_range"),)


class PrintJob(IdMixin, TimestampMixin, Model):
    """One document sent to one printer.

    The document is stored as data and rendered when the job runs, with the
    printer's settings at that time: a reprint is the same document, and a printer
    fixed after a failure prints correctly. ``status``: queued (waiting, or waiting
    for a retry after ``last_error``), printing, done, failed (retries exhausted).
    ``output`` keeps the bytes sent to a ``dummy:`` printer.
    """
    __tablename__ = "devices_print_job"
    printer_id: Mapped[int] = mapped_column(RefId, ForeignKey("devices_printer.id"))
    kind: Mapped[str] = mapped_column(String(16), default="document")
    title: Mapped[str] = mapped_column(String(120), default="")
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_by_id: Mapped[Optional[int]] = mapped_column(RefId, ForeignKey("users.id"))
    printed_at: Mapped[Optional[dt.datetime]]
    output: Mapped[Optional[bytes]] = mapped_column(LargeBinary)

    printer: Mapped[Printer] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        Index("ix_devices_print_job_status", "status"),
        Index("ix_devices_print_job_printer_id", "printer_id", "id"),
        CheckConstraint("status IN ('queued', 'printing', 'done', 'failed')", name="status_known"),
    )


DEVICES_MODELS = (Printer, PrintJob)
