"""Parties: customers and vendors.

Phones are stored as entered and also as ``phone_digits``, the normalised form search
and duplicate detection use: digits only, and when more than ten digits were entered
only the last ten (the national number without a country code or trunk prefix), so
"555 010 2030", "(555) 010-2030", "5550102030" and "+1 555 010 2030" are one number.
E-mail addresses are stored trimmed and lower-cased.

Plugins that copy a customer's details onto their own rows (a name kept for
searching) hear of an edit through the ``customer_updated`` hook, in the same unit of
work.

Merging keeps the merged customer as an inactive row with ``merged_into_id`` rather
than deleting it: old links, audit entries and plugin rows that name its id keep
resolving (``GET /customers/{old}`` says where it went), and nothing is lost if a
plugin has not re-pointed something. Everything the kernel knows (units the customer
owns) moves to the surviving customer, and the ``customer_merged`` hook lets each
enabled plugin move its own rows in the same unit of work.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import BigId, IdMixin, Model, TimestampMixin
from core.errors import Conflict, Invalid
from core.models import User
from core.records.common import apply_changes, get_or_404
from core.runtime import current as current_runtime

CONTACT_CHANNELS = ("email", "sms", "none")
VENDOR_KINDS = ("supplier", "manufacturer", "service")
PHONE_KEY_LENGTH = 10


class Customer(IdMixin, TimestampMixin, Model):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("contact_channel IN ('email', 'sms', 'none')", name="contact_channel"),
    )
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[Optional[str]] = mapped_column(String(40))
    phone_digits: Mapped[Optional[str]] = mapped_column(String(20), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    contact_channel: Mapped[str] = mapped_column(String(8), default="none")
    marketing_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    merged_into_id: Mapped[Optional[int]] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL"), index=True)


class Vendor(IdMixin, TimestampMixin, Model):
    __tablename__ = "vendors"
    __table_args__ = (
        CheckConstraint("kind IN ('supplier', 'manufacturer', 'service')", name="kind"),
        Index("ix_vendors_name", "name"),
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="supplier")
    contact: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[Optional[str]] = mapped_column(String(40))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    account_number: Mapped[str] = mapped_column(String(64), default="")
    default_lead_time_days: Mapped[Optional[int]]
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# ------------------------------------------------------------- normalisation

_NON_DIGITS = re.compile(r"\D+")


def phone_digits(raw: str | None) -> str | None:
    """The searchable form of a phone number: its digits, at most the last ten.
    ``None`` when there are no digits."""
    if not raw:
        return None
    digits = _NON_DIGITS.sub("", raw)
    if not digits:
        return None
    return digits[-PHONE_KEY_LENGTH:]


def normalize_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = raw.strip().lower()
    return value or None


def _default_channel(email: str | None, phone: str | None) -> str:
    return "email" if email else "sms" if phone else "none"


def _check_channel(channel: str, email: str | None, phone: str | None) -> None:
    if channel == "email" and not email:
        raise Invalid("The contact channel is e-mail but there is no e-mail address.",
                      fields={"contact_channel": ["E-mail needs an e-mail address."]})
    if channel == "sms" and not phone:
        raise Invalid("The contact channel is SMS but there is no phone number.",
                      fields={"contact_channel": ["SMS needs a phone number."]})


# ----------------------------------------------------------------- customers

CUSTOMER_FIELDS = ("name", "phone", "email", "address", "notes", "contact_channel",
                   "marketing_opt_out")


def get_customer(session: Session, customer_id: int) -> Customer:
    return get_or_404(session, Customer, customer_id, "customer")


def possible_duplicates(session: Session, customer: Customer, limit: int = 10) -> list[Customer]:
    """Active customers other than ``customer`` with the same normalised phone or e-mail."""
    conds = []
    if customer.phone_digits and len(customer.phone_digits) >= 7:
        conds.append(Customer.phone_digits == customer.phone_digits)
    if customer.email:
        conds.append(Customer.email == customer.email)
    found: dict[int, Customer] = {}
    for cond in conds:  # one indexed look-up each rather than an OR across two indexes
        for c in session.scalars(select(Customer).where(
                cond, Customer.id != customer.id, Customer.merged_into_id.is_(None))
                .order_by(Customer.id).limit(limit)):
            found.setdefault(c.id, c)
    return list(found.values())[:limit]


def create_customer(session: Session, actor: User | None, data: dict[str, Any]) -> Customer:
    """Create a customer. Read :func:`possible_duplicates` afterwards to warn the user."""
    values = {k: data[k] for k in CUSTOMER_FIELDS if k in data}
    values["email"] = normalize_email(values.get("email"))
    values["phone"] = (values.get("phone") or "").strip() or None
    if not values.get("contact_channel"):
        values["contact_channel"] = _default_channel(values["email"], values["phone"])
    _check_channel(values["contact_channel"], values["email"], values["phone"])
    customer = Customer(**values, phone_digits=phone_digits(values["phone"]))
    session.add(customer)
    session.flush()
    audit.record(session, "customer.created", actor=actor, record_type="customer",
                 record_id=customer.id, after={"name": customer.name})
    return customer


def update_customer(session: Session, actor: User | None, customer: Customer,
                    data: dict[str, Any]) -> Customer:
    if customer.merged_into_id is not None:
        raise Conflict(f"Customer {customer.id} was merged into {customer.merged_into_id}; "
                       "edit that one.", code="customer_merged")
    data = dict(data)
    if "email" in data:
        data["email"] = normalize_email(data["email"])
    if "phone" in data:
        data["phone"] = (data["phone"] or "").strip() or None
    before, after = apply_changes(customer, data, CUSTOMER_FIELDS)
    customer.phone_digits = phone_digits(customer.phone)
    _check_channel(customer.contact_channel, customer.email, customer.phone)
    session.flush()
    if after:
        audit.record(session, "customer.updated", actor=actor, record_type="customer",
                     record_id=customer.id, before=before, after=after)
        current_runtime().hook.customer_updated(session=session, customer=customer,
                                                before=dict(before), actor=actor)
    return customer


def merge_customers(session: Session, actor: User | None, into: Customer, merged: Customer,
                    hook: Any = None) -> Customer:
    """Fold ``merged`` into ``into``: its units move to ``into``, empty contact fields
    of ``into`` are filled from it, notes are appended, plugins re-point their rows
    through ``customer_merged``; ``merged`` stays as an inactive row pointing at
    ``into``. Audited."""
    from core.records.items import Item
    if into.id == merged.id:
        raise Invalid("A customer cannot be merged into itself.",
                      fields={"from_id": ["Must differ from the customer merged into."]})
    for c in (into, merged):
        if c.merged_into_id is not None:
            raise Conflict(f"Customer {c.id} was already merged into {c.merged_into_id}.",
                           code="customer_merged")
    before = {k: getattr(into, k) for k in ("phone", "email", "address", "notes")}
    for name in ("phone", "email", "address"):
        if not getattr(into, name) and getattr(merged, name):
            setattr(into, name, getattr(merged, name))
    if merged.notes:
        into.notes = (into.notes + "\n" if into.notes else "") + merged.notes
    into.phone_digits = phone_digits(into.phone)
    moved_items = session.execute(
        update(Item).where(Item.owner_id == merged.id).values(owner_id=into.id)
        .execution_options(synchronize_session="fetch")).rowcount
    merged.active = False
    merged.merged_into_id = into.id
    session.flush()
    if hook is not None:
        hook.customer_merged(session=session, into=into, merged=merged, actor=actor)
    after = {k: getattr(into, k) for k in before}
    audit.record(session, "customer.merged", actor=actor, record_type="customer",
                 record_id=into.id,
                 before={"merged_id": merged.id, "merged_name": merged.name,
                         **{k: v for k, v in before.items() if after[k] != v}},
                 after={"items_moved": moved_items,
                        **{k: v for k, v in after.items() if before[k] != v}})
    return into


# ------------------------------------------------------------------- vendors

VENDOR_FIELDS = ("name", "kind", "contact", "phone", "email", "account_number",
                 "default_lead_time_days", "notes", "active")


def get_vendor(session: Session, vendor_id: int) -> Vendor:
    return get_or_404(session, Vendor, vendor_id, "vendor")


def create_vendor(session: Session, actor: User | None, data: dict[str, Any]) -> Vendor:
    values = {k: data[k] for k in VENDOR_FIELDS if k in data}
    values["email"] = normalize_email(values.get("email"))
    vendor = Vendor(**values)
    session.add(vendor)
    session.flush()
    audit.record(session, "vendor.created", actor=actor, record_type="vendor",
                 record_id=vendor.id, after={"name": vendor.name, "kind": vendor.kind})
    return vendor


def update_vendor(session: Session, actor: User | None, vendor: Vendor,
                  data: dict[str, Any]) -> Vendor:
    data = dict(data)
    if "email" in data:
        data["email"] = normalize_email(data["email"])
    before, after = apply_changes(vendor, data, VENDOR_FIELDS)
    session.flush()
    if after:
        audit.record(session, "vendor.updated", actor=actor, record_type="vendor",
                     record_id=vendor.id, before=before, after=after)
    return vendor


__all__ = ["Customer", "Vendor", "phone_digits", "normalize_email", "create_customer",
           "update_customer", "merge_customers", "possible_duplicates", "get_customer",
           "create_vendor", "update_vendor", "get_vendor"]
