"""The till's tables: registers, shifts (the API calls them sessions), sales and
returns, their lines and their payments.

A return is a ``pos_sale`` row of ``kind = "return"`` pointing at the sale it takes
back (``original_sale_id``), with negative quantities and amounts, so the close
report and the ledger of money read one table.

Sale numbers (``S-000123``, returns ``R-000124``) are made from the row's id, which
the database hands out (a sequence on PostgreSQL, the rowid on SQLite): concurrent
sales can never draw the same number, and ``number`` is UNIQUE besides.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer,
                        Numeric, String, Text, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import IdMixin, Model, Money, TimestampMixin, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")
Quantity = Numeric(12, 3)
TENDERS = ("cash", "card", "other", "store_credit")
LINE_KINDS = ("goods", "part", "labor", "service", "deposit", "warranty")


class Register(IdMixin, TimestampMixin, Model):
    __tablename__ = "pos_register"
    name: Mapped[str] = mapped_column(String(120), unique=True)
    location_id: Mapped[int] = mapped_column(BigId, ForeignKey("locations.id"), index=True)
    # The devices plugin's printer; no foreign key: pos works without devices.
    printer_id: Mapped[Optional[int]] = mapped_column(BigId)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Shift(IdMixin, Model):
    """A till session: opened with a float, closed with the counted cash."""
    __tablename__ = "pos_shift"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        # one open shift per register, enforced by the database
        Index("uq_pos_shift_open_register", "register_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )
    register_id: Mapped[int] = mapped_column(BigId, ForeignKey("pos_register.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    opening_cash: Mapped[Decimal] = mapped_column(Money)
    closed_at: Mapped[Optional[dt.datetime]]
    closed_by_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    counted_cash: Mapped[Optional[Decimal]] = mapped_column(Money)
    expected_cash: Mapped[Optional[Decimal]] = mapped_column(Money)
    difference: Mapped[Optional[Decimal]] = mapped_column(Money)
    report: Mapped[Optional[dict]] = mapped_column(JSON)
    register: Mapped[Register] = relationship(lazy="joined", innerjoin=True)


class Sale(IdMixin, Model):
    __tablename__ = "pos_sale"
    __table_args__ = (
        CheckConstraint("kind IN ('sale', 'return')", name="kind"),
        CheckConstraint("abs(total - (subtotal + tax)) < 0.005", name="total_is_sum"),
        Index("ix_pos_sale_shift_id_kind", "shift_id", "kind"),
    )
    number: Mapped[Optional[str]] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="sale")
    status: Mapped[str] = mapped_column(String(20), default="completed")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("pos_shift.id"))
    register_id: Mapped[int] = mapped_column(BigId, ForeignKey("pos_register.id"))
    location_id: Mapped[int] = mapped_column(BigId, ForeignKey("locations.id"))
    user_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    customer_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(BigId, index=True)
    original_sale_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("pos_sale.id"),
                                                            index=True)
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    subtotal: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)
    change_due: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reason: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    lines: Mapped[list["SaleLine"]] = relationship(
        back_populates="sale", order_by="SaleLine.position", lazy="selectin",
        foreign_keys="SaleLine.sale_id")
    payments: Mapped[list["Payment"]] = relationship(order_by="Payment.id", lazy="selectin")


class SaleLine(IdMixin, Model):
    """One line (the CHECKs allow half a cent because SQLite compares NUMERIC as
    floating point). Amounts are the line's own, rounded once (see ``pricing``):
    ``net + tax = total``; a return line carries negative quantity and amounts."""
    __tablename__ = "pos_sale_line"
    __table_args__ = (
        CheckConstraint("abs(total - (net + tax)) < 0.005", name="total_is_sum"),
        Index("ix_pos_sale_line_item_id", "item_id"),
        Index("ix_pos_sale_line_product_id", "product_id"),
    )
    sale_id: Mapped[int] = mapped_column(BigId, ForeignKey("pos_sale.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12), default="goods")
    product_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("products.id"))
    item_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("items.id"))
    serial: Mapped[Optional[str]] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    list_price: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    net: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    warranty_plan_id: Mapped[Optional[int]] = mapped_column(BigId)
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    original_line_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("pos_sale_line.id"),
                                                            index=True)
    sale: Mapped[Sale] = relationship(back_populates="lines", foreign_keys=[sale_id])


class Payment(IdMixin, Model):
    """A tender taken (positive) or a refund paid out (negative)."""
    __tablename__ = "pos_payment"
    __table_args__ = (
        CheckConstraint("method IN ('cash', 'card', 'other', 'store_credit')", name="method"),
    )
    sale_id: Mapped[int] = mapped_column(BigId, ForeignKey("pos_sale.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str] = mapped_column(String(120), default="")


POS_MODELS = (Register, Shift, Sale, SaleLine, Payment)
