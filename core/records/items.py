"""Serialized units: one row per physical unit of a serialized product.

A serial is stored as entered and as ``serial_norm`` (trimmed, inner whitespace
removed, upper-cased); ``(product_id, serial_norm)`` is unique and ``serial_norm`` is
indexed on its own for look-ups by serial across products.

Status and stock agree: a unit that is ``in_stock`` counts in its location's stock.
Entering or leaving ``in_stock`` writes a stock move (one unit), so the ledger and the
units never disagree. A ``customer_owned`` unit (a customer's own TV in for repair)
is in the shop's custody but never in its stock: it needs an owner and writes no move.

History and timeline are gathered from every enabled plugin through the
``item_history`` and ``customer_timeline`` contribution hooks; the kernel contributes
a unit's stock moves and status changes and a customer's units.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple, Optional, Sequence

from sqlalchemy import (CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint,
                        bindparam, inspect, select, update)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from core import audit
from core.db import BigId, IdMixin, Model, TimestampMixin, utcnow
from core.errors import Conflict, Invalid
from core.models import AuditEntry, User
from core.records.catalog import Product
from core.records.common import get_or_404
from core.types import TimelineEntry

ITEM_STATUSES = ("in_stock", "sold", "in_service", "at_vendor", "returned", "scrapped",
                 "customer_owned")


class Item(IdMixin, TimestampMixin, Model):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("product_id", "serial_norm"),
        Index("ix_items_serial_norm", "serial_norm"),
        CheckConstraint("status IN ('in_stock', 'sold', 'in_service', 'at_vendor', 'returned', "
                        "'scrapped', 'customer_owned')", name="status"),
        CheckConstraint("status <> 'in_stock' OR location_id IS NOT NULL", name="stock_has_location"),
        CheckConstraint("status <> 'customer_owned' OR owner_id IS NOT NULL",
                        name="customer_owned_has_owner"),
    )
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    serial: Mapped[str] = mapped_column(String(100))
    serial_norm: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="in_stock")
    owner_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    location_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("locations.id"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)


_SPACES = re.compile(r"\s+")


def normalize_serial(raw: str) -> str:
    """Trimmed, inner whitespace removed, upper-cased: how serials are compared."""
    return _SPACES.sub("", raw or "").upper()


def get_item(session: Session, item_id: int) -> Item:
    return get_or_404(session, Item, item_id, "item")


class ItemRef(NamedTuple):
    """A unit as a look-up answers it: enough to show and pick it (its product's name
    and SKU included). Load the :class:`Item` by ``id`` to change it."""
    id: int
    product_id: int
    serial: str
    status: str
    owner_id: Optional[int]
    location_id: Optional[int]
    product_name: str
    product_sku: str


# Prebuilt (hot path: a scanned serial): bound parameters, cache key computed once; plain
# rows on the session's connection (loading ORM objects cost more than the look-up).
_REF = select(Item.id, Item.product_id, Item.serial, Item.status, Item.owner_id, Item.location_id,
              Product.name, Product.sku).join(Product, Product.id == Item.product_id)
_BY_SERIAL = _REF.where(Item.serial_norm == bindparam("norm")).order_by(Item.id)
_BY_SERIAL_AND_PRODUCT = _REF.where(Item.serial_norm == bindparam("norm"),
                                    Item.product_id == bindparam("product_id")).order_by(Item.id)


def items_by_serial(session: Session, serial: str,
                    product_id: int | None = None) -> list[ItemRef]:
    """Units whose serial is ``serial`` once normalised (one per product at most)."""
    norm = normalize_serial(serial)
    if not norm:
        return []
    conn = session.connection()
    if product_id is None:
        rows = conn.execute(_BY_SERIAL, {"norm": norm})
    else:
        rows = conn.execute(_BY_SERIAL_AND_PRODUCT, {"norm": norm, "product_id": product_id})
    return [ItemRef._make(r) for r in rows]


def _check_owner(session: Session, owner_id: int | None) -> None:
    from core.records.parties import Customer
    if owner_id is None:
        return
    owner = session.get(Customer, owner_id)
    if owner is None:
        raise Invalid(f"No customer {owner_id}.", fields={"owner_id": ["Unknown customer."]})
    if owner.merged_into_id is not None:
        raise Invalid(f"Customer {owner_id} was merged into {owner.merged_into_id}.",
                      fields={"owner_id": [f"Merged into {owner.merged_into_id}."]})


def _check_location(session: Session, location_id: int | None) -> None:
    from core.records.stock import Location
    if location_id is not None and session.get(Location, location_id) is None:
        raise Invalid(f"No location {location_id}.", fields={"location_id": ["Unknown location."]})


def _check_state(status: str, owner_id: int | None, location_id: int | None) -> None:
    if status == "in_stock" and location_id is None:
        raise Invalid("A unit in stock needs a location.",
                      fields={"location_id": ["Required for status in_stock."]})
    if status == "in_stock" and owner_id is not None:
        raise Invalid("A unit in the shop's stock has no owner.",
                      fields={"owner_id": ["Must be empty for status in_stock."]})
    if status == "customer_owned" and owner_id is None:
        raise Invalid("A customer-owned unit needs its owner.",
                      fields={"owner_id": ["Required for status customer_owned."]})


def create_item(session: Session, actor: User | None, data: dict[str, Any]) -> Item:
    """Record a unit. ``in_stock`` units enter the stock of their location (a ledger
    row, reason ``data["reason"]`` or "unit added")."""
    from core.records.stock import apply_move
    product = session.get(Product, data["product_id"])
    if product is None:
        raise Invalid(f"No product {data['product_id']}.", fields={"product_id": ["Unknown product."]})
    if not product.serialized:
        raise Invalid(f"Product {product.sku!r} is not serialized; it has no units.",
                      fields={"product_id": ["Not a serialized product."]})
    serial = (data["serial"] or "").strip()
    norm = normalize_serial(serial)
    if not norm:
        raise Invalid("The serial is blank.", fields={"serial": ["Required."]})
    status = data.get("status", "in_stock")
    owner_id, location_id = data.get("owner_id"), data.get("location_id")
    _check_state(status, owner_id, location_id)
    _check_owner(session, owner_id)
    _check_location(session, location_id)
    existing = session.scalar(select(Item.id).where(Item.product_id == product.id,
                                                    Item.serial_norm == norm))
    if existing is not None:
        raise Conflict(f"Serial {serial!r} of {product.sku} is already unit {existing}.",
                       fields={"serial": [f"Already unit {existing}."]}, code="duplicate_serial")
    item = Item(product_id=product.id, serial=serial, serial_norm=norm, status=status,
                owner_id=owner_id, location_id=location_id, notes=data.get("notes") or "")
    session.add(item)
    session.flush()
    if status == "in_stock":
        apply_move(session, actor, product_id=product.id, from_location_id=None,
                    to_location_id=location_id, quantity=1, kind="unit_added",
                    reason=data.get("reason") or "unit added", item_id=item.id)
    audit.record(session, "item.created", actor=actor, record_type="item", record_id=item.id,
                 after={"product_id": product.id, "serial": serial, "status": status,
                        "owner_id": owner_id, "location_id": location_id})
    return item


# The SET clause comes from the parameters' keys (a statement compiled once per key set).
_UPDATE_ITEM = update(Item.__table__).where(Item.__table__.c.id == bindparam("b_id"))


def update_item(session: Session, actor: User | None, item: Item, data: dict[str, Any]) -> Item:
    """Change a unit's status, owner, location or notes. Entering or leaving
    ``in_stock`` (or moving while in stock) writes the ledger row; audited."""
    from core.records.stock import apply_move
    before = {"status": item.status, "owner_id": item.owner_id, "location_id": item.location_id}
    status = data.get("status", item.status)
    owner_id = data["owner_id"] if "owner_id" in data else item.owner_id
    location_id = data["location_id"] if "location_id" in data else item.location_id
    if status == "in_stock" and item.status != "in_stock" and "owner_id" not in data:
        owner_id = None   # back into the shop's stock: nobody owns it any more
    _check_state(status, owner_id, location_id)
    if owner_id != item.owner_id:
        _check_owner(session, owner_id)
    if location_id != item.location_id:
        _check_location(session, location_id)
    reason = data.get("reason") or f"unit {item.status} → {status}"
    was_stock, is_stock = item.status == "in_stock", status == "in_stock"
    if was_stock and (not is_stock or location_id != item.location_id):
        apply_move(session, actor, product_id=item.product_id, from_location_id=item.location_id,
                    to_location_id=location_id if is_stock else None, quantity=1,
                    kind="transfer" if is_stock else "unit_status", reason=reason, item_id=item.id)
    elif is_stock and not was_stock:
        apply_move(session, actor, product_id=item.product_id, from_location_id=None,
                    to_location_id=location_id, quantity=1, kind="unit_status", reason=reason,
                    item_id=item.id)
    values: dict[str, Any] = {"status": status, "owner_id": owner_id, "location_id": location_id}
    if "notes" in data:
        values["notes"] = data["notes"] or ""
    values["updated_at"] = utcnow()
    if inspect(item).persistent:
        # One UPDATE now, and the object told its new state, rather than an ORM flush
        # (a sale changes a unit on the till's hot path).
        session.connection().execute(_UPDATE_ITEM, {"b_id": item.id, **values})
        for key, value in values.items():
            set_committed_value(item, key, value)
    else:
        for key, value in values.items():
            setattr(item, key, value)
        session.flush()
    after = {"status": item.status, "owner_id": item.owner_id, "location_id": item.location_id}
    changed = [k for k in before if before[k] != after[k]]
    if changed:
        audit.record(session, "item.updated", actor=actor, record_type="item", record_id=item.id,
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
                     reason=data.get("reason"))
    return item


# ------------------------------------------------------------ history hooks

def _aware(at: Any) -> dt.datetime:
    if isinstance(at, dt.datetime):
        return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
    if isinstance(at, dt.date):
        return dt.datetime(at.year, at.month, at.day, tzinfo=dt.timezone.utc)
    raise TypeError(f"timeline entry time must be a date or datetime, not {type(at).__name__}")


def gather_timeline(batches: Sequence[Sequence[TimelineEntry] | None]) -> list[TimelineEntry]:
    """Flatten the hook's answers, newest first."""
    entries = [e for batch in batches for e in (batch or ())]
    entries.sort(key=lambda e: _aware(e.at), reverse=True)
    return entries


def _location_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    from core.records.stock import Location
    ids.discard(None)
    if not ids:
        return {}
    return dict(session.execute(select(Location.id, Location.name).where(Location.id.in_(ids))).all())


def kernel_item_history(session: Session, item: Item) -> list[TimelineEntry]:
    """The unit's stock moves and its recorded status changes."""
    from core.records.stock import StockMove
    moves = session.scalars(select(StockMove).where(StockMove.item_id == item.id)
                            .order_by(StockMove.id)).all()
    names = _location_names(session, {m.from_location_id for m in moves} |
                            {m.to_location_id for m in moves})
    out = []
    for m in moves:
        src, dst = names.get(m.from_location_id), names.get(m.to_location_id)
        title = (f"Moved from {src} to {dst}" if src and dst else
                 f"Into stock at {dst}" if dst else f"Out of stock at {src}")
        out.append(TimelineEntry(at=m.at, type="stock_move", title=title, detail=m.reason,
                                 source="core", extra={"move_id": m.id, "kind": m.kind,
                                                       "reference": m.reference}))
    for a in session.scalars(select(AuditEntry).where(AuditEntry.record_type == "item",
                                                      AuditEntry.record_id == str(item.id))
                             .order_by(AuditEntry.id)):
        if a.action == "item.created":
            title = f"Unit recorded ({(a.after or {}).get('status')})"
        elif a.before and "status" in a.before:
            title = f"Status {a.before['status']} → {a.after['status']}"
        else:
            title = "Unit updated"
        out.append(TimelineEntry(at=a.at, type="status_change" if "status" in (a.before or {})
                                 else "unit", title=title, detail=a.reason or "", source="core",
                                 extra={"by": a.actor_name, "before": a.before, "after": a.after}))
    return out


def kernel_customer_timeline(session: Session, customer: Any) -> list[TimelineEntry]:
    """The customer's units and the changes to the customer record."""
    out = []
    for item in session.scalars(select(Item).where(Item.owner_id == customer.id).order_by(Item.id)):
        out.append(TimelineEntry(at=item.created_at, type="unit",
                                 title=f"{item.product.name} · serial {item.serial}",
                                 detail=item.status.replace("_", " "), url=f"/items/{item.id}",
                                 source="core", extra={"item_id": item.id}))
    for a in session.scalars(select(AuditEntry).where(AuditEntry.record_type == "customer",
                                                      AuditEntry.record_id == str(customer.id))
                             .order_by(AuditEntry.id)):
        title = {"customer.created": "Customer created", "customer.merged": "Merged a duplicate",
                 "customer.updated": "Details changed"}.get(a.action, a.action)
        out.append(TimelineEntry(at=a.at, type="customer", title=title, source="core",
                                 extra={"by": a.actor_name}))
    return out
