"""Reading (and, for a customer's own unit, recording) the kernel's shared records.

The repairs plugin touches customers, products, units, locations, reservations and
users only here, through the models and services ``core`` exports: a serial is
compared with ``normalize_serial``, a phone with ``phone_digits``, and a customer's
own unit is recorded by ``create_item`` like ``POST /items`` does.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core import (Conflict, Customer, Item, Location, Product, Reservation, User, create_item,
                  normalize_serial, phone_digits)


def customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def customers_by_ids(session: Session, ids: set[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}


def product(session: Session, product_id: int) -> Product | None:
    return session.get(Product, product_id)


def item(session: Session, item_id: int) -> Item | None:
    return session.get(Item, item_id)


# Prebuilt (the ticket search box's hot path): bound parameters, built once, for use
# as subqueries.
ITEM_IDS_BY_SERIAL = select(Item.id).where(Item.serial_norm == bindparam("serial_norm")).limit(50)
"""Ids of the units whose serial is ``:serial_norm`` (see :func:`serial_key`)."""
CUSTOMER_IDS_BY_PHONE = (select(Customer.id).where(Customer.phone_digits >= bindparam("phone_from"),
                                                   Customer.phone_digits < bindparam("phone_to"))
                         .limit(200))
"""Ids of (up to 200) customers whose phone starts with the digits :func:`phone_range`
binds: one B-tree range on the kernel's ``phone_digits``."""


def serial_key(serial: str) -> str:
    """How ``items.serial_norm`` spells ``serial`` (the kernel's ``normalize_serial``)."""
    return normalize_serial(serial)


def phone_range(digits: str) -> dict[str, str] | None:
    """The bounds of :data:`CUSTOMER_IDS_BY_PHONE` for phones that are ``digits`` or
    start with them (a whole number, at most ten digits, matches only itself)."""
    key = phone_digits(digits)
    return {"phone_from": key, "phone_to": key + ":"} if key else None   # ':' follows '9'


def item_ids_by_serial(session: Session, serial: str) -> list[int]:
    norm = serial_key(serial)
    if not norm:
        return []
    return list(session.scalars(ITEM_IDS_BY_SERIAL, {"serial_norm": norm}))


def customer_ids_by_phone(session: Session, digits: str, limit: int = 200) -> list[int]:
    bounds = phone_range(digits)
    if not bounds:
        return []
    stmt = CUSTOMER_IDS_BY_PHONE if limit == 200 else CUSTOMER_IDS_BY_PHONE.limit(limit)
    return list(session.scalars(stmt, bounds))


def register_customer_unit(session: Session, actor: Any, *, product_id: int, serial: str,
                           owner_id: int) -> int:
    """The unit of ``product_id`` with ``serial``: an existing one, or a new
    ``customer_owned`` unit (never in stock value) owned by ``owner_id``."""
    existing = session.scalar(select(Item).where(Item.product_id == product_id,
                                                 Item.serial_norm == normalize_serial(serial)))
    if existing is not None:
        if existing.status == "in_stock":
            raise Conflict(f"Unit {serial!r} is in the shop's stock, not the customer's.",
                           fields={"serial": ["In stock."]}, code="unit_in_stock")
        return existing.id
    return create_item(session, actor, {"product_id": product_id, "serial": serial,
                                        "status": "customer_owned", "owner_id": owner_id,
                                        "notes": "brought in for repair"}).id


def reservation_status(session: Session, reservation_id: int) -> str | None:
    return session.scalar(select(Reservation.status).where(Reservation.id == reservation_id))


def default_location_id(session: Session) -> int | None:
    """The first active store (else any active location): where parts come from."""
    for kinds in (("store",), ("store", "warehouse", "van")):
        found = session.scalar(select(Location.id).where(Location.active.is_(True),
                                                         Location.kind.in_(kinds))
                               .order_by(Location.id).limit(1))
        if found is not None:
            return found
    return None


def serialized_products(session: Session, limit: int = 500) -> list[Any]:
    """Active serialized products (id, sku, name) by name: what a unit can be."""
    return list(session.execute(select(Product.id, Product.sku, Product.name).where(
        Product.serialized.is_(True), Product.active.is_(True)).order_by(Product.name).limit(limit)))


def part_products(session: Session, limit: int = 500) -> list[Any]:
    """Active parts (id, sku, name, price) by name: what can go on a ticket."""
    return list(session.execute(select(Product.id, Product.sku, Product.name, Product.price).where(
        Product.kind == "part", Product.active.is_(True)).order_by(Product.name).limit(limit)))


def active_user_ids(session: Session, limit: int = 500) -> set[int]:
    return set(session.scalars(select(User.id).where(User.active.is_(True)).limit(limit)))


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {row.id: row.display_name or row.username for row in session.execute(
        select(User.id, User.username, User.display_name).where(User.id.in_(ids)))}
