"""Stock: locations, the append-only ledger of stock moves, and reservations.

Nothing edits a quantity in place. Every change of stock is a :class:`StockMove` row
(a quantity of a product from one location to another; ``from`` empty for stock
coming in, ``to`` empty for stock going out). Serialized products move unit by unit:
one ledger row per unit, carrying its ``item_id``.

On hand, reserved and available are derived: on hand is the ledger's sum per
(product, location), reserved the sum of active reservations. Both are also kept in
``stock_levels``, one row per (product, location), written **in the same transaction**
as the ledger row or reservation that changes them, and only through one conditional
``UPDATE``::

    UPDATE stock_levels SET on_hand = on_hand + :dh, reserved = reserved + :dr
     WHERE product_id = :p AND location_id = :l
       AND on_hand + :dh - (reserved + :dr) >= 0 AND reserved + :dr >= 0

so available stock is never promised twice: on PostgreSQL a second writer of the
same row waits for the first to commit, re-evaluates the condition on the new row and
matches nothing (→ 409); on SQLite writing units of work are serialised by ``BEGIN
IMMEDIATE``. CHECK constraints (``reserved >= 0``, ``reserved <= on_hand``) back the
rule up in the database itself. :func:`verify_levels` recomputes the levels from the
ledger and the reservations and lists any difference.

Reservations (a repair's parts, a layaway) are made, released and consumed by plugins
through :func:`reserve_stock`, :func:`release_reservation` and
:func:`consume_reservation` (exported by ``core``). Consuming writes the ledger row
that takes the stock out. Each is audited (``stock.reservation.created`` /
``.released`` / ``.consumed``, record type ``reservation``) once it has succeeded: a
refused call notes no entry.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Iterable, Optional

from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Index, String, Text, bindparam,
                        func, insert, select, update)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import BigId, IdMixin, Model, TimestampMixin, dialect_insert, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.models import User
from core.records.common import dialect_of, get_or_404

LOCATION_KINDS = ("store", "warehouse", "van", "vendor")
RESERVATION_STATUSES = ("active", "consumed", "released")


class Location(IdMixin, TimestampMixin, Model):
    __tablename__ = "locations"
    __table_args__ = (CheckConstraint("kind IN ('store', 'warehouse', 'van', 'vendor')", name="kind"),)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="store")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StockMove(IdMixin, Model):
    """One ledger row. Append-only: the database refuses UPDATE and DELETE."""
    __tablename__ = "stock_moves"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("from_location_id IS NOT NULL OR to_location_id IS NOT NULL",
                        name="has_location"),
        CheckConstraint("from_location_id IS NULL OR to_location_id IS NULL "
                        "OR from_location_id <> to_location_id", name="distinct_locations"),
        Index("ix_stock_moves_product_id_at", "product_id", "at"),
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    from_location_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("locations.id"), index=True)
    to_location_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("locations.id"), index=True)
    quantity: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255))
    item_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("items.id"), index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(BigId)
    reference: Mapped[Optional[str]] = mapped_column(String(120))


class StockLevel(Model):
    """On hand and reserved per (product, location), kept with the ledger (see module doc)."""
    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="not_overpromised"),
    )
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(BigId, ForeignKey("locations.id"), primary_key=True,
                                             index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Reservation(IdMixin, TimestampMixin, Model):
    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('active', 'consumed', 'released')", name="status"),
        Index("ix_reservations_reference", "reference_type", "reference_id"),
        Index("ix_reservations_product_id_location_id", "product_id", "location_id"),
    )
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    location_id: Mapped[int] = mapped_column(BigId, ForeignKey("locations.id"))
    quantity: Mapped[int]
    reference_type: Mapped[str] = mapped_column(String(64))
    reference_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[Optional[int]] = mapped_column(BigId)


# ----------------------------------------------------------------- locations

def get_location(session: Session, location_id: int) -> Location:
    return get_or_404(session, Location, location_id, "location")


def create_location(session: Session, actor: User | None, data: dict[str, Any]) -> Location:
    name = data["name"].strip()
    if session.scalar(select(Location.id).where(Location.name == name)) is not None:
        raise Conflict(f"A location named {name!r} exists.", fields={"name": ["Already used."]})
    loc = Location(name=name, kind=data.get("kind", "store"), active=data.get("active", True))
    session.add(loc)
    session.flush()
    audit.record(session, "location.created", actor=actor, record_type="location",
                 record_id=loc.id, after={"name": loc.name, "kind": loc.kind})
    return loc


# ------------------------------------------------------------------- levels

class _Statements:
    """The ledger's hot statements, built once per dialect (building a SQLAlchemy
    expression costs more than running it on SQLite)."""

    def __init__(self, dialect: str) -> None:
        t, moves = StockLevel.__table__, StockMove.__table__
        add = dialect_insert(dialect)(t).values(product_id=bindparam("p"), location_id=bindparam("l"),
                               on_hand=bindparam("dh"), reserved=0)
        self.add = add.on_conflict_do_update(index_elements=["product_id", "location_id"],
                                             set_={"on_hand": t.c.on_hand + add.excluded.on_hand})
        self.take = (update(t).where(
            t.c.product_id == bindparam("p"), t.c.location_id == bindparam("l"),
            t.c.on_hand + bindparam("dh") - (t.c.reserved + bindparam("dr")) >= 0,
            t.c.reserved + bindparam("dr") >= 0)
            .values(on_hand=t.c.on_hand + bindparam("dh"), reserved=t.c.reserved + bindparam("dr")))
        self.level = select(t.c.on_hand, t.c.reserved).where(
            t.c.product_id == bindparam("p"), t.c.location_id == bindparam("l"))
        self.move = insert(moves)


_statements_for = functools.cache(_Statements)


def _statements(conn: Any) -> _Statements:
    return _statements_for(conn.dialect.name)


def _change_level(session: Session, product_id: int, location_id: int, *, on_hand: int = 0,
                  reserved: int = 0) -> None:
    """Apply a change to one level row in one statement, or raise :class:`Conflict`
    (nothing changed) when it would promise or remove stock that is not available.
    Stock coming in upserts the row; anything that takes from available stock is a
    conditional UPDATE, so two concurrent takers of the last unit cannot both win."""
    conn = session.connection()
    stmts = _statements(conn)
    if on_hand >= 0 and reserved == 0:
        conn.execute(stmts.add, {"p": product_id, "l": location_id, "dh": on_hand})
        return
    result = conn.execute(stmts.take, {"p": product_id, "l": location_id, "dh": on_hand,
                                       "dr": reserved})
    if result.rowcount != 1:
        row = conn.execute(stmts.level, {"p": product_id, "l": location_id}).first()
        have, held = (row.on_hand, row.reserved) if row is not None else (0, 0)
        available = have - held
        raise Conflict(f"Only {available} available at location {location_id} "
                       f"({have} on hand, {held} reserved).",
                       code="insufficient_stock",
                       fields={"available": available, "on_hand": have, "reserved": held})


def record_move(session: Session, actor: User | None, *, product_id: int,
                from_location_id: int | None, to_location_id: int | None, quantity: int,
                kind: str, reason: str, item_id: int | None = None,
                reference: str | None = None) -> StockMove:
    """Append one ledger row and apply it to the levels. Low level: callers validate
    the product, locations and units (see :func:`move_stock`). The row is written with
    one INSERT (no ORM flush); the returned :class:`StockMove` carries its id but is
    not attached to the session."""
    values = _move_values(actor, product_id, from_location_id, to_location_id, quantity, kind,
                          reason, item_id, reference)
    return StockMove(id=_apply_move(session, values), **values)


def apply_move(session: Session, actor: User | None, *, product_id: int,
               from_location_id: int | None, to_location_id: int | None, quantity: int,
               kind: str, reason: str, item_id: int | None = None,
               reference: str | None = None) -> int:
    """:func:`record_move` for callers that need only the new row's id (no object built)."""
    return _apply_move(session, _move_values(actor, product_id, from_location_id, to_location_id,
                                             quantity, kind, reason, item_id, reference))


def _move_values(actor: User | None, product_id: int, from_location_id: int | None,
                 to_location_id: int | None, quantity: int, kind: str, reason: str,
                 item_id: int | None, reference: str | None) -> dict[str, Any]:
    return dict(at=utcnow(), product_id=product_id, from_location_id=from_location_id,
                to_location_id=to_location_id, quantity=quantity, kind=kind,
                reason=reason[:255], item_id=item_id, actor_id=actor.id if actor else None,
                reference=reference)


def _apply_move(session: Session, values: dict[str, Any]) -> int:
    if values["from_location_id"] is not None:
        _change_level(session, values["product_id"], values["from_location_id"],
                      on_hand=-values["quantity"])
    if values["to_location_id"] is not None:
        _change_level(session, values["product_id"], values["to_location_id"],
                      on_hand=values["quantity"])
    conn = session.connection()
    return conn.execute(_statements(conn).move, values).inserted_primary_key[0]


def stock_levels(session: Session, *, product_id: int | None = None,
                 location_id: int | None = None) -> Any:
    """A select of :class:`StockLevel` rows, filtered, ordered by product and location."""
    stmt = select(StockLevel).order_by(StockLevel.product_id, StockLevel.location_id)
    if product_id is not None:
        stmt = stmt.where(StockLevel.product_id == product_id)
    if location_id is not None:
        stmt = stmt.where(StockLevel.location_id == location_id)
    return stmt


def ledger_on_hand(session: Session, product_id: int, location_id: int) -> int:
    """On hand computed from the ledger alone."""
    incoming = session.scalar(select(func.coalesce(func.sum(StockMove.quantity), 0)).where(
        StockMove.product_id == product_id, StockMove.to_location_id == location_id))
    outgoing = session.scalar(select(func.coalesce(func.sum(StockMove.quantity), 0)).where(
        StockMove.product_id == product_id, StockMove.from_location_id == location_id))
    return int(incoming) - int(outgoing)


def verify_levels(session: Session) -> list[dict[str, Any]]:
    """Recompute every level from the ledger and the active reservations; return the
    rows that differ from ``stock_levels`` (empty when all agree)."""
    expected: dict[tuple[int, int], list[int]] = {}
    for p, loc, q in session.execute(select(StockMove.product_id, StockMove.to_location_id,
                                            func.sum(StockMove.quantity))
                                     .where(StockMove.to_location_id.is_not(None))
                                     .group_by(StockMove.product_id, StockMove.to_location_id)):
        expected.setdefault((p, loc), [0, 0])[0] += int(q)
    for p, loc, q in session.execute(select(StockMove.product_id, StockMove.from_location_id,
                                            func.sum(StockMove.quantity))
                                     .where(StockMove.from_location_id.is_not(None))
                                     .group_by(StockMove.product_id, StockMove.from_location_id)):
        expected.setdefault((p, loc), [0, 0])[0] -= int(q)
    for p, loc, q in session.execute(select(Reservation.product_id, Reservation.location_id,
                                            func.sum(Reservation.quantity))
                                     .where(Reservation.status == "active")
                                     .group_by(Reservation.product_id, Reservation.location_id)):
        expected.setdefault((p, loc), [0, 0])[1] += int(q)
    stored = {(r.product_id, r.location_id): [r.on_hand, r.reserved]
              for r in session.scalars(select(StockLevel))}
    problems = []
    for key in set(expected) | set(stored):
        want, have = expected.get(key, [0, 0]), stored.get(key, [0, 0])
        if want != have:
            problems.append({"product_id": key[0], "location_id": key[1],
                             "ledger": {"on_hand": want[0], "reserved": want[1]},
                             "stored": {"on_hand": have[0], "reserved": have[1]}})
    return problems


# -------------------------------------------------------------------- moves

def _stockable_product(session: Session, product_id: int) -> Any:
    from core.records.catalog import Product
    product = session.get(Product, product_id)
    if product is None:
        raise Invalid(f"No product {product_id}.", fields={"product_id": ["Unknown product."]})
    if product.kind == "service":
        raise Invalid("A service has no stock.", fields={"product_id": ["Services have no stock."]})
    return product


def _location_for_move(session: Session, location_id: int | None, field: str,
                       incoming: bool) -> Location | None:
    if location_id is None:
        return None
    loc = session.get(Location, location_id)
    if loc is None:
        raise Invalid(f"No location {location_id}.", fields={field: ["Unknown location."]})
    if incoming and not loc.active:
        raise Conflict(f"Location {loc.name!r} is inactive.", fields={field: ["Inactive."]})
    return loc


def move_stock(session: Session, actor: User | None, *, product_id: int,
               from_location_id: int | None, to_location_id: int | None, quantity: int,
               reason: str, serials: Iterable[str] | None = None,
               reference: str | None = None) -> list[StockMove]:
    """An adjustment (only ``from`` — stock out, or only ``to`` — stock in) or a
    transfer (both). A serialized product moves by serial: ``serials`` lists exactly
    ``quantity`` units; moving out, each must be in stock at ``from``; coming in, an
    unknown serial becomes a new unit. Audited (``stock.adjusted`` / ``stock.transferred``)."""
    from core.records.items import Item, normalize_serial
    if from_location_id is None and to_location_id is None:
        raise Invalid("Name a location to move from, to, or both.",
                      fields={"to_location_id": ["Give from_location_id, to_location_id or both."]})
    if from_location_id is not None and from_location_id == to_location_id:
        raise Invalid("A transfer needs two different locations.",
                      fields={"to_location_id": ["Same as from_location_id."]})
    if quantity <= 0:
        raise Invalid("The quantity must be positive.", fields={"quantity": ["Must be at least 1."]})
    if not reason or not reason.strip():
        raise Invalid("Say why stock moves.", fields={"reason": ["Required."]})
    product = _stockable_product(session, product_id)
    src = _location_for_move(session, from_location_id, "from_location_id", incoming=False)
    dst = _location_for_move(session, to_location_id, "to_location_id", incoming=True)
    kind = "transfer" if src and dst else "adjustment"
    serials = list(serials or [])
    moves: list[StockMove] = []
    if not product.serialized:
        if serials:
            raise Invalid("This product is not serialized; do not list serials.",
                          fields={"serials": ["Only for serialized products."]})
        moves.append(record_move(session, actor, product_id=product.id,
                                 from_location_id=from_location_id, to_location_id=to_location_id,
                                 quantity=quantity, kind=kind, reason=reason, reference=reference))
    else:
        norms = [normalize_serial(s) for s in serials]
        if len(serials) != quantity:
            raise Invalid(f"A serialized product moves by serial: list {quantity} serials.",
                          fields={"serials": [f"{len(serials)} given for quantity {quantity}."]})
        if len(set(norms)) != len(norms) or not all(norms):
            raise Invalid("Serials must be distinct and not blank.",
                          fields={"serials": ["Distinct, non-blank serials."]})
        for raw, norm in zip(serials, norms):
            item = session.scalar(select(Item).where(Item.product_id == product.id,
                                                     Item.serial_norm == norm).with_for_update())
            item = _move_unit(session, actor, product, item, raw, src, dst)
            moves.append(record_move(session, actor, product_id=product.id,
                                     from_location_id=from_location_id,
                                     to_location_id=to_location_id, quantity=1, kind=kind,
                                     reason=reason, item_id=item.id, reference=reference))
    audit.record(session, f"stock.{'transferred' if kind == 'transfer' else 'adjusted'}",
                 actor=actor, record_type="product", record_id=product.id, reason=reason,
                 after={"from_location_id": from_location_id, "to_location_id": to_location_id,
                        "quantity": quantity, "serials": serials or None,
                        "moves": [m.id for m in moves], "reference": reference})
    return moves


def _move_unit(session: Session, actor: User | None, product: Any, item: Any, raw: str,
               src: Location | None, dst: Location | None) -> Any:
    """Validate one serialized unit's move and update the unit (not the ledger)."""
    from core.records.items import Item, normalize_serial
    if src is not None:
        if item is None:
            raise Conflict(f"No unit with serial {raw!r} of this product.",
                           fields={"serials": [f"{raw}: unknown serial."]}, code="unit_not_here")
        if item.status != "in_stock" or item.location_id != src.id:
            raise Conflict(f"Unit {raw!r} is not in stock at {src.name!r} (it is {item.status}).",
                           fields={"serials": [f"{raw}: not in stock at this location."]},
                           code="unit_not_here")
    else:
        if item is None:
            item = Item(product_id=product.id, serial=raw.strip(), serial_norm=normalize_serial(raw),
                        status="in_stock", location_id=dst.id if dst else None, notes="")
            session.add(item)
            session.flush()
            return item
        if item.status in ("in_stock", "customer_owned"):
            raise Conflict(f"Unit {raw!r} is {item.status.replace('_', ' ')}; it cannot be "
                           "added to stock.", fields={"serials": [f"{raw}: {item.status}."]},
                           code="unit_not_addable")
    if dst is not None:
        item.status, item.location_id, item.owner_id = "in_stock", dst.id, None
    else:
        item.status, item.location_id = "scrapped", None
    session.flush()
    return item


# ------------------------------------------------------------- reservations

def reserve_stock(session: Session, actor: User | None, *, product_id: int, location_id: int,
                  quantity: int, reference_type: str, reference_id: Any,
                  note: str = "") -> Reservation:
    """Promise ``quantity`` of a product at a location to a record (``reference_type``
    such as ``"repairs.ticket"`` and its id). Raises :class:`Conflict`
    (``insufficient_stock``, 409) when that much is not available — never promises
    the same stock twice, even to concurrent callers."""
    if quantity <= 0:
        raise Invalid("The quantity must be positive.", fields={"quantity": ["Must be at least 1."]})
    _stockable_product(session, product_id)
    _location_for_move(session, location_id, "location_id", incoming=False)
    _change_level(session, product_id, location_id, reserved=quantity)
    res = Reservation(product_id=product_id, location_id=location_id, quantity=quantity,
                      reference_type=reference_type, reference_id=str(reference_id),
                      status="active", note=note, actor_id=actor.id if actor else None)
    session.add(res)
    session.flush()
    _audit_reservation(session, actor, res, "created", note=note or None)
    return res


def _audit_reservation(session: Session, actor: User | None, res: Reservation, event: str, *,
                       reason: str | None = None, **details: Any) -> None:
    """Note ``stock.reservation.<event>`` for ``res`` (already in its new status).
    Called last, after every check has passed, so a refused call notes nothing."""
    after = {"status": res.status, "product_id": res.product_id, "location_id": res.location_id,
             "quantity": res.quantity, "reference": _reference(res), **details}
    if reason is not None:
        after["reason"] = reason
    audit.record(session, f"stock.reservation.{event}", actor=actor, record_type="reservation",
                 record_id=res.id, reason=reason, after=after,
                 before=None if res.status == "active" else {"status": "active"})


def _reference(res: Reservation) -> str:
    """The reserving record as the ledger and the audit log name it (``type:id``)."""
    return f"{res.reference_type}:{res.reference_id}"


def _active_reservation(session: Session, reservation_id: int) -> Reservation:
    res = session.scalar(select(Reservation).where(Reservation.id == reservation_id)
                         .with_for_update())
    if res is None:
        raise NotFound(f"No reservation {reservation_id}.")
    if res.status != "active":
        raise Conflict(f"Reservation {reservation_id} is already {res.status}.",
                       code="reservation_closed")
    return res


def release_reservation(session: Session, actor: User | None, reservation_id: int) -> Reservation:
    """Give reserved stock back to available (a cancelled repair, a lapsed layaway)."""
    res = _active_reservation(session, reservation_id)
    _change_level(session, res.product_id, res.location_id, reserved=-res.quantity)
    res.status = "released"
    session.flush()
    _audit_reservation(session, actor, res, "released")
    return res


def consume_reservation(session: Session, actor: User | None, reservation_id: int, *,
                        reason: str | None = None, serials: Iterable[str] | None = None) -> Reservation:
    """The reserved stock leaves: one ledger row out of the location (per unit for a
    serialized product, whose ``serials`` must be given; those units become ``sold``).
    The units are checked before anything is written: a refused call changes nothing."""
    from core.records.catalog import Product
    res = _active_reservation(session, reservation_id)
    product = session.get(Product, res.product_id)
    reference = _reference(res)
    why = reason or f"used by {reference}"
    units = _units_to_consume(session, res, product, list(serials or []))
    _change_level(session, res.product_id, res.location_id, reserved=-res.quantity)
    if units:
        moves = []
        for item in units:
            item.status, item.location_id = "sold", None
            moves.append(apply_move(session, actor, product_id=product.id,
                                    from_location_id=res.location_id, to_location_id=None,
                                    quantity=1, kind="consumed", reason=why, item_id=item.id,
                                    reference=reference))
    else:
        moves = [apply_move(session, actor, product_id=product.id,
                            from_location_id=res.location_id, to_location_id=None,
                            quantity=res.quantity, kind="consumed", reason=why,
                            reference=reference)]
    res.status = "consumed"
    session.flush()
    _audit_reservation(session, actor, res, "consumed", reason=why,
                       serials=[u.serial for u in units] or None, moves=moves)
    return res


def _units_to_consume(session: Session, res: Reservation, product: Any,
                      serials: list[str]) -> list[Any]:
    """The serialized units a consume takes (locked), each in stock at the reserved
    location; empty for a product that is not serialized."""
    from core.records.items import Item, normalize_serial
    if not product.serialized:
        if serials:
            raise Invalid(f"{product.name} is not serialized: it has no serials to consume.",
                          fields={"serials": ["Only for serialized products."]})
        return []
    if len(serials) != res.quantity:
        raise Invalid(f"List the {res.quantity} serial(s) consumed.",
                      fields={"serials": [f"{len(serials)} given for quantity {res.quantity}."]})
    norms = [normalize_serial(s) for s in serials]
    if len(set(norms)) != len(norms):
        raise Invalid("Serials must be distinct.", fields={"serials": ["Distinct serials."]})
    units = []
    for raw, norm in zip(serials, norms):
        item = session.scalar(select(Item).where(
            Item.product_id == product.id, Item.serial_norm == norm).with_for_update())
        if item is None or item.status != "in_stock" or item.location_id != res.location_id:
            raise Conflict(f"Unit {raw!r} is not in stock at the reserved location.",
                           fields={"serials": [f"{raw}: not here."]}, code="unit_not_here")
        units.append(item)
    return units


__all__ = ["Location", "StockMove", "StockLevel", "Reservation", "create_location",
           "get_location", "record_move", "move_stock", "stock_levels", "ledger_on_hand",
           "verify_levels", "reserve_stock", "release_reservation", "consume_reservation",
           ]
