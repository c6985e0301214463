"""The repairs plugin's tables (all named ``repairs_<entity>``).

A ticket holds one or more units (a serialized unit of the shared records, or a
free-text description), the customer's words, the work done (labour, parts from
stock reserved to it), the estimates shown to the customer, every status move (for
turnaround per stage) and the pickups that released its units.

Reporting reads ``repairs_tech_month``: one row per technician, month and product
kind, updated in the same transaction as the event it counts (a ticket completed,
a comeback opened), so the technician report reads a few hundred rows whatever the
number of tickets. ``opened_month`` / ``completed_month`` are stored ("YYYY-MM",
indexed) rather than computed per row.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer,
                        Numeric, String, Text, text)
from sqlalchemy.orm import Mapped, mapped_column, object_session

from core import IdMixin, Model, Money, TimestampMixin, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")

STATUSES = ("received", "diagnosing", "awaiting_approval", "awaiting_parts", "in_repair",
            "at_vendor", "ready", "collected", "on_hold", "cancelled")
OPEN_STATUSES = tuple(s for s in STATUSES if s not in ("collected", "cancelled"))
HOLD_REASONS = ("parts", "escalated", "customer_decision")
PART_STATUSES = ("reserved", "to_order", "consumed", "released")
ESTIMATE_STATUSES = ("pending", "approved", "declined", "superseded")
APPROVAL_CHANNELS = ("status_link", "in_person", "phone", "email", "sms", "drop_off")
NOTE_VISIBILITY = ("internal", "customer")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Ticket(IdMixin, TimestampMixin, Model):
    __tablename__ = "repairs_ticket"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        CheckConstraint(f"hold_reason IS NULL OR hold_reason IN ({_in(HOLD_REASONS)})",
                        name="hold_reason"),
        CheckConstraint("status <> 'on_hold' OR hold_reason IS NOT NULL", name="hold_has_reason"),
        CheckConstraint("deposit >= 0", name="deposit_not_negative"),
        CheckConstraint("priority BETWEEN 0 AND 3", name="priority_range"),
        Index("ix_repairs_ticket_status_opened_at", "status", "opened_at"),
        Index("ix_repairs_ticket_technician_status", "technician_id", "status"),
    )
    number: Mapped[Optional[str]] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="received")
    hold_reason: Mapped[Optional[str]] = mapped_column(String(20))
    problem: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text, default="")
    accessories: Mapped[str] = mapped_column(Text, default="")
    condition: Mapped[str] = mapped_column(Text, default="")
    rush: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(default=0)
    promised_for: Mapped[Optional[dt.date]] = mapped_column(Date)
    technician_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    # Random; kept (not hashed) so the drop-off receipt can be reprinted with its link,
    # and compared in constant time.
    status_token: Mapped[str] = mapped_column(String(64))
    deposit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    deposit_method: Mapped[str] = mapped_column(String(30), default="")
    deposit_reference: Mapped[str] = mapped_column(String(120), default="")
    deposit_sale_id: Mapped[Optional[int]] = mapped_column(BigId)
    comeback_of_id: Mapped[Optional[int]] = mapped_column(
        BigId, ForeignKey("repairs_ticket.id"), index=True)
    # Denormalised for the ticket search (see services.search_tickets): the name is
    # copied at intake and again when the customer is renamed or merged (hooks.py).
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    units_text: Mapped[str] = mapped_column(Text, default="")
    product_kind: Mapped[str] = mapped_column(String(16), default="")
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    opened_month: Mapped[str] = mapped_column(String(7), index=True)
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[Optional[dt.datetime]]
    collected_at: Mapped[Optional[dt.datetime]]
    completed_month: Mapped[Optional[str]] = mapped_column(String(7), index=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))

    @property
    def status_url(self) -> str:
        """The customer's secret status link (hooks read it: ``ticket_created``)."""
        from plugins.repairs.services import status_url
        return status_url(object_session(self), self)


class TicketUnit(IdMixin, Model):
    __tablename__ = "repairs_ticket_unit"
    __table_args__ = (CheckConstraint("item_id IS NOT NULL OR description <> ''",
                                      name="unit_identified"),)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("repairs_ticket.id"), index=True)
    item_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("items.id"), index=True)
    product_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("products.id"))
    serial: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(300), default="")
    coverage: Mapped[str] = mapped_column(String(20), default="")   # parts, labor, parts_and_labor
    coverage_note: Mapped[str] = mapped_column(String(200), default="")
    released_at: Mapped[Optional[dt.datetime]]
    pickup_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("repairs_pickup.id"))


class StatusChange(IdMixin, Model):
    __tablename__ = "repairs_status_change"
    __table_args__ = (Index("ix_repairs_status_change_ticket_at", "ticket_id", "at"),)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("repairs_ticket.id"))
    from_status: Mapped[Optional[str]] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(30), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Note(IdMixin, Model):
    __tablename__ = "repairs_note"
    __table_args__ = (CheckConstraint(f"visibility IN ({_in(NOTE_VISIBILITY)})", name="visibility"),)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("repairs_ticket.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(10), default="internal")
    author_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Labor(IdMixin, Model):
    __tablename__ = "repairs_labor"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes_positive"),)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("repairs_ticket.id"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("repairs_ticket_unit.id"))
    technician_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    minutes: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(String(300))
    rate: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)          # what is charged (0 when covered)
    list_amount: Mapped[Decimal] = mapped_column(Money)     # before warranty
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    pickup_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("repairs_pickup.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Part(IdMixin, Model):
    __tablename__ = "repairs_part"
    __table_args__ = (CheckConstraint(f"status IN ({_in(PART_STATUSES)})", name="status"),
                      CheckConstraint("quantity > 0", name="quantity_positive"))
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("repairs_ticket.id"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("repairs_ticket_unit.id"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    location_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("locations.id"))
    quantity: Mapped[int] = mapped_column()
    serial: Mapped[Optional[str]] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(300))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(Money)          # charged (0 when covered)
    list_amount: Mapped[Decimal] = mapped_column(Money)
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="reserved")
    reservation_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("reservations.id"))
    pickup_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("repairs_pickup.id"))
    added_by_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Estimate(IdMixin, Model):
    __tablename__ = "repairs_estimate"
    __table_args__ = (CheckConstraint(f"status IN ({_in(ESTIMATE_STATUSES)})", name="status"),
                      CheckConstraint("amount >= 0", name="amount_not_negative"))
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("repairs_ticket.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    parts_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    labor_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    labor_minutes: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    requested_by_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[Optional[dt.datetime]]
    decided_via: Mapped[str] = mapped_column(String(20), default="")
    decided_by_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    # ``amount`` is in the shop's prices (before tax, or with the tax inside, per
    # ``prices_include_tax`` when it was made); ``tax`` and ``total`` (what the customer
    # pays, tax included) by the till's rule (pricing.estimate_amounts). NULL: made
    # before estimates stated their tax (rp0005): not known.
    tax: Mapped[Optional[Decimal]] = mapped_column(Money)
    total: Mapped[Optional[Decimal]] = mapped_column(Money)
    prices_include_tax: Mapped[Optional[bool]] = mapped_column(Boolean)

    @property
    def summary(self) -> str:
        """``80.00 + 16.00 tax = 96.00`` or ``96.00 (incl. 16.00 tax)``."""
        from plugins.repairs.pricing import estimate_words
        return estimate_words(self.amount, self.tax, self.total, self.prices_include_tax)


class Pickup(IdMixin, Model):
    __tablename__ = "repairs_pickup"
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("repairs_ticket.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("users.id"))
    # The work released now as the customer pays for it: with a till sale, what the
    # sale charged for it; without one, the same by the till's rule (see pricing.py).
    total: Mapped[Decimal] = mapped_column(Money)           # parts + labour, before tax
    tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"),
                                         server_default=text("0"))   # rp0004
    deposit_applied: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    # total + tax - deposit_applied: what the customer pays (negative: the deposit was more)
    amount_due: Mapped[Decimal] = mapped_column(Money)
    payment_method: Mapped[str] = mapped_column(String(30), default="")
    payment_reference: Mapped[str] = mapped_column(String(120), default="")
    sale_id: Mapped[Optional[int]] = mapped_column(BigId)
    sale_number: Mapped[str] = mapped_column(String(40), default="")


class PublicAttempt(IdMixin, Model):
    """Look-ups of the public status page, kept in the database so every app process
    throttles guessing alike (like the kernel's sign-in attempts)."""
    __tablename__ = "repairs_public_attempt"
    __table_args__ = (Index("ix_repairs_public_attempt_ip_at", "ip", "at"),
                      Index("ix_repairs_public_attempt_number_at", "number", "at"))
    ip: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(40), default="")
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TechMonth(Model):
    """Technician performance rolled up per month and product kind (technician 0:
    unassigned)."""
    __tablename__ = "repairs_tech_month"
    technician_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    product_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    completed: Mapped[int] = mapped_column(default=0)
    labor_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    estimated_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    turnaround_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    comebacks: Mapped[int] = mapped_column(default=0)
    labor_revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    parts_revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))


REPAIRS_MODELS = (Ticket, TicketUnit, StatusChange, Note, Labor, Part, Estimate, Pickup,
                  PublicAttempt, TechMonth)
