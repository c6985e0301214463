"""Reading (and, for a customer's own unit, writing) the kernel's shared records.

The kernel exports no models for customers, products and units, only their tables on
``core.Model.metadata``; this module is the one place the repairs plugin touches
them, so a change in the kernel's records shows up here alone. A serial is compared
the kernel's way: trimmed, inner whitespace removed, upper-cased.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from core import Conflict, Invalid, Model, audit, utcnow

_SPACES = re.compile(r"\s+")


def table(name: str) -> Table:
    return Model.metadata.tables[name]


def normalize_serial(raw: str | None) -> str:
    return _SPACES.sub("", raw or "").upper()


def phone_key(raw: str | None) -> str:
    """The kernel's searchable phone form: digits only, at most the last ten."""
    digits = re.sub(r"\D", "", raw or "")
    return digits[-10:] if len(digits) > 10 else digits


def customer(session: Session, customer_id: int) -> Any | None:
    c = table("customers")
    return session.execute(select(c.c.id, c.c.name, c.c.phone, c.c.email, c.c.merged_into_id,
                                  c.c.contact_channel).where(c.c.id == customer_id)).first()


def customers_by_ids(session: Session, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    c = table("customers")
    rows = session.execute(select(c.c.id, c.c.name, c.c.phone).where(c.c.id.in_(ids)))
    return {r.id: r for r in rows}


def product(session: Session, product_id: int) -> Any | None:
    p = table("products")
    return session.execute(select(p.c.id, p.c.sku, p.c.name, p.c.kind, p.c.price, p.c.tax_rate,
                                  p.c.serialized, p.c.active).where(p.c.id == product_id)).first()


def item(session: Session, item_id: int) -> Any | None:
    i, p = table("items"), table("products")
    return session.execute(
        select(i.c.id, i.c.product_id, i.c.serial, i.c.serial_norm, i.c.status, i.c.owner_id,
               p.c.name.label("product_name"), p.c.kind.label("product_kind"))
        .join(p, p.c.id == i.c.product_id).where(i.c.id == item_id)).first()


def item_ids_by_serial(session: Session, serial: str) -> list[int]:
    i = table("items")
    norm = normalize_serial(serial)
    if not norm:
        return []
    return list(session.scalars(select(i.c.id).where(i.c.serial_norm == norm).limit(50)))


def customer_ids_by_phone(session: Session, digits: str, limit: int = 200) -> list[int]:
    """Customers whose phone is ``digits`` (ten digits) or starts with it (fewer):
    a B-tree look-up on the kernel's ``phone_digits``."""
    c = table("customers")
    key = phone_key(digits)
    if len(key) >= 10:
        cond = c.c.phone_digits == key
    else:
        cond = (c.c.phone_digits >= key) & (c.c.phone_digits < key + ":")  # ':' follows '9'
    return list(session.scalars(select(c.c.id).where(cond).limit(limit)))


def register_customer_unit(session: Session, actor: Any, *, product_id: int, serial: str,
                           owner_id: int) -> int:
    """The unit of ``product_id`` with ``serial``: an existing one, or a new
    ``customer_owned`` unit (never in stock value) owned by ``owner_id``."""
    prod = product(session, product_id)
    if prod is None:
        raise Invalid(f"No product {product_id}.", fields={"product_id": ["Unknown product."]})
    norm = normalize_serial(serial)
    if not norm:
        raise Invalid("The serial is blank.", fields={"serial": ["Required."]})
    if not prod.serialized:
        raise Invalid(f"Product {prod.sku!r} is not serialized; describe the unit instead.",
                      fields={"product_id": ["Not a serialized product."]})
    i = table("items")
    existing = session.execute(select(i.c.id, i.c.status).where(
        i.c.product_id == product_id, i.c.serial_norm == norm)).first()
    if existing is not None:
        if existing.status == "in_stock":
            raise Conflict(f"Unit {serial!r} is in the shop's stock, not the customer's.",
                           fields={"serial": ["In stock."]}, code="unit_in_stock")
        return existing.id
    now = utcnow()
    item_id = session.execute(insert(i).values(
        product_id=product_id, serial=serial.strip(), serial_norm=norm, status="customer_owned",
        owner_id=owner_id, location_id=None, notes="brought in for repair",
        created_at=now, updated_at=now).returning(i.c.id)).scalar_one()
    audit.record(session, "item.created", actor=actor, record_type="item", record_id=item_id,
                 after={"product_id": product_id, "serial": serial.strip(),
                        "status": "customer_owned", "owner_id": owner_id, "by": "repairs"})
    return item_id


def reservation_status(session: Session, reservation_id: int) -> str | None:
    r = table("reservations")
    return session.scalar(select(r.c.status).where(r.c.id == reservation_id))


def default_location_id(session: Session) -> int | None:
    """The first active store (else any active location): where parts come from."""
    loc = table("locations")
    for kinds in (("store",), ("store", "warehouse", "van")):
        found = session.scalar(select(loc.c.id).where(loc.c.active.is_(True), loc.c.kind.in_(kinds))
                               .order_by(loc.c.id).limit(1))
        if found is not None:
            return found
    return None


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    u = table("users")
    cols = [u.c.id, u.c.username]
    if "display_name" in u.c:
        cols.append(u.c.display_name)
    out = {}
    for row in session.execute(select(*cols).where(u.c.id.in_(ids))):
        out[row.id] = getattr(row, "display_name", None) or row.username
    return out
