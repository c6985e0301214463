"""The till's business logic: registers, shifts, sales, returns, receipts.

Plain functions taking the unit of work (``session``) and the ``actor``; no Flask.
They raise the kernel's domain errors and write nothing that is not rolled back with
them.

Concurrency. A serialized unit is sold once: ringing it up locks its ``items`` row
(``SELECT … FOR UPDATE``; on SQLite that locking read takes the database's write
lock, ``BEGIN IMMEDIATE``) and re-reads its status under the lock, so of two registers
selling the same serial in the same second one completes and the other gets 409.
Locks are always taken in one order — units (sorted), then the shift (shared: a close
waits for the sales in progress, and a sale after a close sees it closed), then stock
levels (sorted by product), and the audit chain's head last, when the unit of work
commits — so two sales never deadlock. A sale reads everything else first, before
any lock.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from decimal import Decimal
from typing import Any, Iterable, NamedTuple, Sequence

from sqlalchemy import Select, bindparam, func, insert, or_, select, text, update

from core import (ChargeLine, Conflict, Customer, Forbidden, Invalid, Item, Location, NotFound,
                  Offer, Product, ReceiptDocument, ReceiptLine, ReceiptSection, SaleInfo,
                  SaleLineInfo, TicketCharges, apply_move, audit, consume_reservation,
                  current_runtime, find_product_by_code, get_setting, move_stock,
                  normalize_serial, to_money, update_item, utcnow)

from plugins.pos import pricing
from plugins.pos.models import TENDERS, Payment, Register, Sale, SaleLine, Shift

PLUGIN = "pos"
ZERO = Decimal("0.00")
STOCKLESS_KINDS = ("labor", "service", "deposit", "warranty")


def _hook() -> Any:
    return current_runtime().hook


def _may(actor: Any, permission: str) -> bool:
    return actor is not None and permission in current_runtime().permissions_of(actor)


# ------------------------------------------------------------------ registers

def create_register(session: Any, actor: Any, data: dict[str, Any]) -> Register:
    name = data["name"].strip()
    if not name:
        raise Invalid("Name the register.", fields={"name": ["Required."]})
    if session.scalar(select(Register.id).where(Register.name == name)) is not None:
        raise Conflict(f"A register named {name!r} exists.", fields={"name": ["Already used."]})
    location = session.get(Location, data["location_id"])
    if location is None:
        raise Invalid(f"No location {data['location_id']}.",
                      fields={"location_id": ["Unknown location."]})
    register = Register(name=name, location_id=location.id, printer_id=data.get("printer_id"),
                        active=True)
    session.add(register)
    session.flush()
    audit.record(session, "pos.register.created", actor=actor, record_type="pos_register",
                 record_id=register.id, after={"name": name, "location_id": location.id,
                                               "printer_id": register.printer_id})
    return register


def registers_query() -> Select:
    return select(Register).order_by(Register.name)


def get_register(session: Any, register_id: int) -> Register:
    register = session.get(Register, register_id)
    if register is None:
        raise NotFound(f"No register {register_id}.")
    return register


# --------------------------------------------------------------------- shifts

def open_shift(session: Any, actor: Any, register_id: int, opening_cash: Decimal) -> Shift:
    register = get_register(session, register_id)
    if not register.active:
        raise Conflict(f"Register {register.name!r} is inactive.", code="register_inactive")
    open_id = session.scalar(select(Shift.id).where(Shift.register_id == register.id,
                                                    Shift.status == "open"))
    if open_id is not None:
        raise Conflict(f"Register {register.name!r} already has an open session ({open_id}).",
                       code="session_open", fields={"session_id": open_id})
    shift = Shift(register_id=register.id, status="open", opened_at=utcnow(),
                  opened_by_id=actor.id if actor else None, opening_cash=to_money(opening_cash))
    session.add(shift)
    session.flush()
    audit.record(session, "pos.session.opened", actor=actor, record_type="pos_shift",
                 record_id=shift.id, after={"register_id": register.id,
                                            "opening_cash": shift.opening_cash})
    return shift


def get_shift(session: Any, shift_id: int, *, lock: bool = False) -> Shift:
    stmt = select(Shift).where(Shift.id == shift_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    shift = session.scalar(stmt)
    if shift is None:
        raise NotFound(f"No till session {shift_id}.")
    return shift


class _ShiftForSale(NamedTuple):
    id: int
    status: str
    register_id: int
    location_id: int
    printer_id: int | None
    register_name: str


_SHIFT_FOR_SALE = (select(Shift.id, Shift.status, Shift.register_id, Register.location_id,
                          Register.printer_id, Register.name)
                   .join(Register, Register.id == Shift.register_id)
                   .where(Shift.id == bindparam("id")))


def _open_shift_for_sale(session: Any, shift_id: int) -> _ShiftForSale:
    """The open shift a sale or refund is rung up on, with its register's location and
    printer (one read; the sale re-checks the status under lock before writing)."""
    row = session.execute(_SHIFT_FOR_SALE, {"id": shift_id}).first()
    if row is None:
        raise Invalid(f"No till session {shift_id}.", fields={"session_id": ["Unknown session."]})
    shift = _ShiftForSale(*row)
    if shift.status != "open":
        raise _shift_closed(shift_id)
    return shift


_SHIFT_STATUS_SHARED = (select(Shift.status).where(Shift.id == bindparam("id"))
                       .with_for_update(read=True, key_share=True))


def _recheck_shift_open(session: Any, shift_id: int) -> None:
    """Re-read the shift's status under a lock that a close (``FOR UPDATE``) waits for,
    so no sale lands on a shift whose Z report is already counted. ``FOR KEY SHARE`` is
    the lock the sale's foreign key takes anyway on PostgreSQL; on SQLite this locking
    read takes the write lock if nothing has yet."""
    if session.execute(_SHIFT_STATUS_SHARED, {"id": shift_id}).scalar() != "open":
        raise _shift_closed(shift_id)


_CUSTOMER_SHARED = (select(Customer.merged_into_id).where(Customer.id == bindparam("id"))
                    .with_for_update(read=True))


def _check_customer(session: Any, customer_id: int) -> None:
    """The sale's customer exists and was not merged away, read under a lock that a
    merge (which updates the row) waits for — else a sale could land on the merged
    customer after the merge moved its sales (``customer_merged``)."""
    row = session.execute(_CUSTOMER_SHARED, {"id": customer_id}).first()
    if row is None:
        raise Invalid(f"No customer {customer_id}.", fields={"customer_id": ["Unknown customer."]})
    if row.merged_into_id is not None:
        raise Invalid(f"Customer {customer_id} was merged into {row.merged_into_id}.",
                      fields={"customer_id": [f"Merged into {row.merged_into_id}."]})


def _shift_closed(shift_id: int) -> Conflict:
    return Conflict(f"Till session {shift_id} is closed; open a new one.", code="session_closed",
                    fields={"session_id": ["Closed."]})


def close_report(session: Any, shift: Shift, *, counted_cash: Decimal | None = None,
                 end: dt.datetime | None = None) -> dict[str, Any]:
    """The close (Z) report of ``shift``: sales, refunds, tenders, cash, sections.

    ``tenders`` are what the till kept per tender — received on sales, less the change
    given (cash only), less refunds paid — so they add up to ``net_total``. The cash
    section shows how the drawer got there: ``opening + taken − change_given −
    refunded = expected`` (``taken``: cash handed over on sales; ``refunded``: cash
    paid out on returns; both positive), and ``expected − opening`` is the cash tender.
    """
    rows = session.execute(
        select(Sale.kind, func.count(Sale.id), func.coalesce(func.sum(Sale.total), 0),
               func.coalesce(func.sum(Sale.tax), 0), func.coalesce(func.sum(Sale.change_due), 0))
        .where(Sale.shift_id == shift.id).group_by(Sale.kind)).all()
    by_kind = {k: (n, to_money(t), to_money(x), to_money(c)) for k, n, t, x, c in rows}
    sales = by_kind.get("sale", (0, ZERO, ZERO, ZERO))
    refunds = by_kind.get("return", (0, ZERO, ZERO, ZERO))
    tender_rows = session.execute(
        select(Payment.method, func.sum(Payment.amount))
        .join(Sale, Sale.id == Payment.sale_id).where(Sale.shift_id == shift.id)
        .group_by(Payment.method)).all()
    # per tender: what came in on sales less what went out on refunds (negative payments)
    tenders = {m: to_money(a) for m, a in tender_rows}
    cash_refunded = -to_money(session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).join(Sale, Sale.id == Payment.sale_id)
        .where(Sale.shift_id == shift.id, Sale.kind == "return", Payment.method == "cash")) or 0)
    change = sales[3]
    cash_taken = tenders.get("cash", ZERO) + cash_refunded
    # change is given in cash only: cash net of it is what the drawer kept, and the
    # tenders then add up to the net total
    tenders["cash"] = tenders.get("cash", ZERO) - change
    expected = shift.opening_cash + tenders["cash"]
    end = end or shift.closed_at or utcnow()
    sections = []
    for batch in _hook().close_report_sections(session=session, shift_id=shift.id,
                                               start=shift.opened_at, end=end):
        for section in batch or ():
            sections.append({"title": section.title, "lines": list(section.lines)})
    counted = None if counted_cash is None else to_money(counted_cash)
    return {
        "session_id": shift.id, "register_id": shift.register_id, "register": shift.register.name,
        "opened_at": shift.opened_at.isoformat(), "closed_at": end.isoformat(),
        "sales": {"count": sales[0], "total": sales[1], "tax": sales[2]},
        "refunds": {"count": refunds[0], "total": -refunds[1], "tax": -refunds[2]},
        "net_total": sales[1] + refunds[1],
        "tenders": [{"method": m, "amount": tenders.get(m, ZERO)} for m in TENDERS],
        "cash": {"opening": shift.opening_cash, "taken": cash_taken,
                 "change_given": change, "refunded": cash_refunded, "expected": expected,
                 "counted": counted, "difference": None if counted is None else counted - expected},
        "sections": sections,
    }


def close_shift(session: Any, actor: Any, shift_id: int, counted_cash: Decimal,
                note: str = "") -> Shift:
    shift = get_shift(session, shift_id, lock=True)
    if shift.status != "open":
        raise Conflict(f"Till session {shift_id} is already closed.", code="session_closed")
    now = utcnow()
    report = close_report(session, shift, counted_cash=counted_cash, end=now)
    cash = report["cash"]
    shift.status, shift.closed_at = "closed", now
    shift.closed_by_id = actor.id if actor else None
    shift.counted_cash, shift.expected_cash = cash["counted"], cash["expected"]
    shift.difference = cash["difference"]
    shift.report = _jsonable(report)
    session.flush()
    audit.record(session, "pos.session.closed", actor=actor, record_type="pos_shift",
                 record_id=shift.id, after={"expected_cash": cash["expected"],
                                            "counted_cash": cash["counted"],
                                            "difference": cash["difference"]})
    if cash["difference"] != 0:
        audit.record(session, "pos.cash.difference", actor=actor, record_type="pos_shift",
                     record_id=shift.id, reason=note or "counted cash differs from expected",
                     before={"expected_cash": cash["expected"]},
                     after={"counted_cash": cash["counted"], "difference": cash["difference"]})
    return shift


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# ---------------------------------------------------------------- ringing up

@dataclass
class Charge:
    """One line about to be sold, resolved and priced, before anything is written."""
    description: str
    quantity: Decimal
    unit_price: Decimal
    list_price: Decimal
    tax_rate: Decimal
    kind: str = "goods"
    discount: Decimal = ZERO
    product: Any = None
    serial: str | None = None
    item: Any = None
    reservation_id: int | None = None
    warranty_plan_id: int | None = None
    covered: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)


# prebuilt: the till looks products up on every scan
_PRODUCT_BY_ID = select(Product).where(Product.id == bindparam("pid"))
_PRODUCTS_BY_IDS = select(Product).where(Product.id.in_(bindparam("ids", expanding=True)))


def lookup_product(session: Any, code: str) -> Product | None:
    """The product whose SKU or barcode is ``code`` (a scan at the till)."""
    code = (code or "").strip()
    if not code or len(code) > 64:
        return None
    return find_product_by_code(session, code)


def _product_for_line(session: Any, i: int, line: dict[str, Any],
                      products: dict[int, Product]) -> Product:
    where = {"lines": {i: {}}}
    if line.get("product_id") is not None:
        product = products.get(line["product_id"]) or session.get(Product, line["product_id"])
        if product is None:
            where["lines"][i]["product_id"] = ["Unknown product."]
            raise Invalid(f"No product {line['product_id']}.", fields=where, code="unknown_product")
    elif line.get("code"):
        product = lookup_product(session, line["code"])
        if product is None:
            where["lines"][i]["code"] = ["No product has this SKU or barcode."]
            raise Invalid(f"No product with SKU or barcode {line['code']!r}.", fields=where,
                          code="unknown_product")
    else:
        where["lines"][i]["product_id"] = ["Give product_id or code (SKU or barcode)."]
        raise Invalid("A line names its product.", fields=where)
    if not product.active:
        where["lines"][i]["product_id"] = ["This product is no longer sold."]
        raise Invalid(f"Product {product.sku} is inactive.", fields=where, code="inactive_product")
    return product


def _catalog_charge(session: Any, actor: Any, i: int, line: dict[str, Any],
                    discount_limit: Decimal, products: dict[int, Product]) -> Charge:
    product = _product_for_line(session, i, line, products)
    quantity = Decimal(line["quantity"])
    bad = lambda msg, **kw: Invalid(msg, fields={"lines": {i: kw}})  # noqa: E731
    if quantity <= 0:
        raise bad("The quantity must be positive.", quantity=["Must be more than 0."])
    if product.kind != "service" and quantity != quantity.to_integral_value():
        raise bad("Goods are sold in whole units.", quantity=["Whole units only."])
    if product.serialized:
        if not line.get("serial"):
            raise bad(f"{product.name} is serialized: scan or type the unit's serial.",
                      serial=["Required for a serialized product."])
        if quantity != 1:
            raise bad("One line per serialized unit.", quantity=["Must be 1 for a serial."])
    elif line.get("serial"):
        raise bad(f"{product.name} is not serialized.", serial=["Not a serialized product."])
    overrides: dict[str, Any] = {}
    unit_price = product.price
    if line.get("unit_price") is not None and line["unit_price"] != product.price:
        if not _may(actor, "pos.price.override"):
            raise Forbidden("Changing a price needs the pos.price.override permission.",
                            fields={"lines": {i: {"unit_price": ["Needs pos.price.override."]}}})
        unit_price = to_money(line["unit_price"])
        overrides["price"] = {"list_price": product.price, "unit_price": unit_price}
    discount, given_percent = ZERO, None
    if line.get("discount_percent") is not None:
        given_percent = Decimal(line["discount_percent"])
        discount = pricing.discount_from_percent(given_percent, quantity, unit_price)
    if line.get("discount") is not None:
        discount, given_percent = to_money(line["discount"]), None
    if discount:
        if discount > to_money(quantity * unit_price):
            raise bad("The discount is larger than the line.", discount=["Larger than the line."])
        percent = (given_percent if given_percent is not None
                   else pricing.discount_percent(discount, quantity, unit_price))
        if pricing.discount_over_limit(discount, quantity, unit_price, discount_limit,
                                       percent=given_percent):
            if not _may(actor, "pos.discount.override"):
                raise Forbidden(f"A discount of {pricing.decimal_text(percent)}% is over the "
                                f"limit of {pricing.decimal_text(discount_limit)}%: it needs "
                                "pos.discount.override.",
                                fields={"lines": {i: {"discount": ["Over the limit."]}}})
            overrides["discount"] = {"discount": discount, "percent": percent,
                                     "limit": discount_limit}
    return Charge(description=product.name, quantity=quantity, unit_price=unit_price,
                  list_price=product.price, tax_rate=product.tax_rate, kind=product.kind
                  if product.kind in ("goods", "part", "service") else "goods",
                  discount=discount, product=product, serial=line.get("serial"),
                  warranty_plan_id=line.get("warranty_plan_id"), overrides=overrides)


def _warranty_charges(session: Any, charges: list[Charge], customer_id: int | None) -> list[Charge]:
    """A line that takes an offer (``warranty_plan_id``) brings the plan as its own line,
    priced as the offering plugin says. An offer nobody makes is refused."""
    out: list[Charge] = []
    for i, c in enumerate(charges):
        out.append(c)
        if c.warranty_plan_id is None:
            continue
        offers = sale_line_offers(session, c.product.id if c.product else None, c.serial, customer_id)
        offer = next((o for o in offers if o.ref == c.warranty_plan_id), None)
        if offer is None:
            raise Invalid(f"Plan {c.warranty_plan_id} is not offered on {c.description}.",
                          fields={"lines": {i: {"warranty_plan_id": ["Not offered for this line."]}}})
        out.append(Charge(description=offer.title, quantity=Decimal(1), unit_price=offer.price,
                          list_price=offer.price, tax_rate=c.tax_rate, kind="warranty",
                          warranty_plan_id=offer.ref, serial=c.serial))
    return out


def sale_line_offers(session: Any, product_id: int | None, serial: str | None,
                     customer_id: int | None) -> list[Offer]:
    if product_id is None:
        return []
    batches = _hook().sale_line_offers(session=session, product_id=product_id, serial=serial,
                                       customer_id=customer_id)
    return [o for batch in batches for o in (batch or ())]


def _charge_from_line(session: Any, i: int, line: ChargeLine) -> Charge:
    quantity = Decimal(line.quantity)
    if quantity <= 0:
        raise Invalid("The quantity must be positive.",
                      fields={"lines": {i: {"quantity": ["Must be more than 0."]}}})
    product = None
    if line.product_id is not None:
        product = session.scalar(_PRODUCT_BY_ID, {"pid": line.product_id})
        if product is None:
            raise Invalid(f"No product {line.product_id}.",
                          fields={"lines": {i: {"product_id": ["Unknown product."]}}})
        if product.serialized and not line.serial:
            raise Invalid(f"{product.name} is serialized: name the unit's serial.",
                          fields={"lines": {i: {"serial": ["Required."]}}})
    price = to_money(line.unit_price)
    return Charge(description=line.description, quantity=quantity,
                  unit_price=to_money(line.charged_price), list_price=price,
                  tax_rate=Decimal(line.tax_rate), kind=line.kind, product=product,
                  serial=line.serial, reservation_id=line.reservation_id, covered=line.covered)


def _ticket_charges(session: Any, ticket_id: int) -> list[Charge]:
    answer: TicketCharges | None = _hook().resolve_ticket_charges(session=session,
                                                                   ticket_id=ticket_id)
    if answer is None:
        raise Invalid(f"No open repair ticket {ticket_id} to collect.",
                      fields={"ticket_id": ["Unknown ticket, or repairs is not enabled."]},
                      code="unknown_ticket")
    charges = [_charge_from_line(session, i, ln) for i, ln in enumerate(answer.lines)]
    if answer.deposit:
        deposit = to_money(answer.deposit)
        charges.append(Charge(description=f"Deposit paid on {answer.number}", quantity=Decimal(1),
                              unit_price=-deposit, list_price=-deposit, tax_rate=Decimal(0),
                              kind="deposit"))
    return charges


_UNIT_FOR_SALE = (select(Item).where(Item.product_id == bindparam("pid"),
                                     Item.serial_norm == bindparam("norm"))
                  .with_for_update().execution_options(populate_existing=True))


def _units_wanted(charges: list[Charge]) -> list[tuple[int, str, int, Charge]]:
    """The serialized units a sale sells, in lock order; a serial twice is refused."""
    wanted = sorted(((c.product.id, normalize_serial(c.serial or ""), i, c)
                     for i, c in enumerate(charges) if c.product is not None
                     and c.product.serialized and c.kind != "warranty"),
                    key=lambda w: (w[0], w[1]))
    seen: set[tuple[int, str]] = set()
    for pid, norm, i, c in wanted:
        if (pid, norm) in seen:
            raise Invalid(f"Serial {c.serial!r} is on the sale twice.",
                          fields={"lines": {i: {"serial": ["Already on this sale."]}}})
        seen.add((pid, norm))
    return wanted


def _lock_units(session: Any, wanted: list[tuple[int, str, int, Charge]], location_id: int) -> None:
    """Lock and check each serialized unit sold, in one order (no deadlocks)."""
    for pid, norm, i, c in wanted:
        item = session.scalar(_UNIT_FOR_SALE, {"pid": pid, "norm": norm})
        if item is None:
            raise Invalid(f"{c.product.name} has no unit with serial {c.serial!r}.",
                          fields={"lines": {i: {"serial": ["Unknown serial for this product."]}}},
                          code="unknown_serial")
        if item.status != "in_stock" or item.location_id != location_id:
            where = ("here" if item.location_id == location_id else "at another location")
            state = "in stock " + where if item.status == "in_stock" else item.status.replace("_", " ")
            raise Conflict(f"Serial {item.serial} of {c.product.name} cannot be sold: it is {state}.",
                           code="serial_not_sellable",
                           fields={"lines": {i: {"serial": [f"Not sellable ({state})."]}}})
        c.item = item


def _price(charges: Sequence[Charge], include_tax: bool) -> list[pricing.LineAmounts]:
    return [pricing.line_amounts(c.quantity, c.unit_price, c.discount, c.tax_rate,
                                 prices_include_tax=include_tax) for c in charges]


def _payments(payments: Iterable[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    out = []
    for i, (method, amount) in enumerate(payments):
        if method not in TENDERS:
            raise Invalid(f"Unknown tender {method!r}.",
                          fields={"payments": {i: {"method": [f"One of {', '.join(TENDERS)}."]}}})
        out.append((method, to_money(amount)))
    return out


def complete_sale(session: Any, actor: Any, *, shift_id: int, customer_id: int | None,
                  lines: Sequence[dict[str, Any]] = (), charge_lines: Sequence[ChargeLine] = (),
                  payments: Sequence[tuple[str, Decimal]], ticket_id: int | None = None,
                  ticket_charged_by_caller: bool = False,
                  note: str = "", print_receipt: bool | None = None) -> Any:
    """Ring up and complete a sale in the caller's unit of work; returns a read-only
    record of it with the attributes of ``Sale`` (see :func:`_insert_sale`).

    ``lines`` are till lines (catalog products by id or code, priced from the catalog
    unless overridden); ``charge_lines`` come priced from another plugin (``ring_up``);
    a ``ticket_id`` adds the repair ticket's charges less its deposit.
    """
    shift = _open_shift_for_sale(session, shift_id)
    location_id = shift.location_id
    limit = Decimal(str(get_setting(PLUGIN, "discount_limit_percent", session)))
    by_id = {ln["product_id"] for ln in lines if ln.get("product_id") is not None}
    products = ({p.id: p for p in session.scalars(_PRODUCTS_BY_IDS, {"ids": sorted(by_id)})}
                if by_id else {})   # one query for the lines' products
    charges = [_catalog_charge(session, actor, i, ln, limit, products)
               for i, ln in enumerate(lines)]
    charges += [_charge_from_line(session, len(charges) + i, ln) for i, ln in enumerate(charge_lines)]
    if ticket_id is not None and not ticket_charged_by_caller:
        charges += _ticket_charges(session, ticket_id)
    charges = _warranty_charges(session, charges, customer_id)
    if not charges:
        raise Invalid("A sale needs at least one line.", fields={"lines": ["At least one line."]})
    units = _units_wanted(charges)
    include_tax = bool(get_setting("core", "prices_include_tax", session))
    amounts = _price(charges, include_tax)
    totals = pricing.sum_lines(amounts)
    tenders = _payments(payments)
    try:
        settled = pricing.settle(totals.total, tenders)
    except ValueError as exc:
        raise Invalid(str(exc), fields={"payments": [str(exc)]}, code="payment_short"
                      if "short" in str(exc) else "overpaid") from exc
    # Everything above only read; the locks come now, the writes right after.
    _lock_units(session, units, location_id)
    _recheck_shift_open(session, shift.id)
    if customer_id is not None:
        _check_customer(session, customer_id)

    sale = _insert_sale(session, dict(
        kind="sale", status="completed", at=utcnow(), shift_id=shift.id,
        register_id=shift.register_id, location_id=location_id,
        user_id=actor.id if actor else None, customer_id=customer_id, ticket_id=ticket_id,
        original_sale_id=None, prices_include_tax=include_tax, subtotal=totals.subtotal,
        tax=totals.tax, total=totals.total, paid=settled.paid, change_due=settled.change_due,
        reason="", note=note or ""),
        [dict(position=pos_, kind=c.kind, product_id=c.product.id if c.product else None,
              item_id=c.item.id if c.item is not None else None,
              serial=c.item.serial if c.item is not None else c.serial,
              description=c.description[:255], quantity=c.quantity, unit_price=c.unit_price,
              list_price=c.list_price, discount=c.discount, tax_rate=c.tax_rate, net=a.net,
              tax=a.tax, total=a.total, warranty_plan_id=c.warranty_plan_id, covered=c.covered,
              original_line_id=None)
         for pos_, (c, a) in enumerate(zip(charges, amounts), start=1)],
        [dict(method=method, amount=amount, reference="") for method, amount in tenders])
    audit.record(session, "pos.sale.completed", actor=actor, record_type="pos_sale",
                 record_id=sale.id, after={"number": sale.number, "total": sale.total,
                                           "payments": [[m, a] for m, a in tenders]})
    for c in charges:
        if c.overrides:
            audit.record(session, "pos.sale.override", actor=actor, record_type="pos_sale",
                         record_id=sale.id, reason=f"{c.description}", after=c.overrides)
    _take_out_of_stock(session, actor, sale, charges, location_id, customer_id)
    info = sale_info(sale)
    _hook().sale_completed(session=session, sale=info, actor=actor)
    _after_sale_devices(session, actor, sale, tenders, print_receipt, info, shift)
    return sale


def _insert_sale(session: Any, values: dict[str, Any], lines: list[dict[str, Any]],
                 payments: list[dict[str, Any]]) -> Any:
    """Write a completed sale with three statements — the sale (its id and number known
    before the INSERT), its lines (one multi-row INSERT returning their ids) and its
    payments — instead of an ORM flush of every object, the till's costliest step.
    Returns a read-only record of what was written, with the attributes of ``Sale``
    (``lines`` and ``payments`` with those of ``SaleLine`` and ``Payment``): plain
    objects, built at a fraction of an ORM object's cost while the sale holds its locks.
    Load the ``Sale`` with ``session.get`` to change it."""
    conn = session.connection()
    sale_id = _next_sale_id(session)
    values = {**values, "id": sale_id, "number": f"S-{sale_id:06d}"}
    conn.execute(_INSERT_SALE, values)
    for ln in lines:
        ln["sale_id"] = sale_id
    ids = dict((pos_, id_) for id_, pos_ in conn.execute(_INSERT_LINES, lines))
    for p in payments:
        p["sale_id"] = sale_id
    # RETURNING makes it one multi-row INSERT (not one per tender); rows come in order.
    # A sale of nothing to pay (covered by a warranty or a deposit) has no tender.
    payment_ids = sorted(conn.execute(_INSERT_PAYMENTS, payments).scalars()) if payments else []
    return SimpleNamespace(**values, lines=[SimpleNamespace(id=ids[ln["position"]], **ln)
                                            for ln in lines],
                           payments=[SimpleNamespace(id=id_, **p)
                                     for id_, p in zip(payment_ids, payments)])


_INSERT_SALE = insert(Sale.__table__)
_INSERT_LINES = insert(SaleLine.__table__).returning(SaleLine.__table__.c.id,
                                                    SaleLine.__table__.c.position)
_INSERT_PAYMENTS = insert(Payment.__table__).returning(Payment.__table__.c.id)
# A locking read: on SQLite it runs under the write lock (SQLite renders no FOR UPDATE).
_NEXT_SALE_ID_SQLITE = select(func.coalesce(func.max(Sale.id), 0) + 1).with_for_update()
_NEXT_SALE_ID_PG = text("SELECT nextval(pg_get_serial_sequence('pos_sale', 'id'))")


def _next_sale_id(session: Any) -> int:
    """The new sale's id before its INSERT: the sequence's next value on PostgreSQL;
    on SQLite the next rowid, stable because it is read under the database's write
    lock (a locking read), held until the unit of work commits."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return int(conn.execute(_NEXT_SALE_ID_PG).scalar_one())
    return int(conn.execute(_NEXT_SALE_ID_SQLITE).scalar_one())


def _take_out_of_stock(session: Any, actor: Any, sale: Sale, charges: list[Charge],
                       location_id: int, customer_id: int | None) -> None:
    reference = f"pos.sale:{sale.id}"
    why = f"sold on {sale.number}"
    ordered = sorted(charges, key=lambda c: (c.product.id if c.product else 0))
    for c in ordered:
        if c.reservation_id is not None:
            consume_reservation(session, actor, c.reservation_id, reason=why,
                                serials=[c.serial] if c.item is not None else None)
            if c.item is not None and customer_id is not None:
                update_item(session, actor, c.item, {"owner_id": customer_id, "reason": why})
        elif c.item is not None:
            update_item(session, actor, c.item, {"status": "sold", "owner_id": customer_id,
                                                 "location_id": None, "reason": why})
        elif (c.product is not None and c.product.kind != "service"
              and c.kind not in STOCKLESS_KINDS):
            # The ledger row (actor, reason, reference) and the sale's own audit entry
            # record this: a sale is not a stock adjustment.
            apply_move(session, actor, product_id=c.product.id, from_location_id=location_id,
                       to_location_id=None, quantity=int(c.quantity), kind="sale", reason=why,
                       reference=reference)


def _after_sale_devices(session: Any, actor: Any, sale: Sale, tenders: list[tuple[str, Decimal]],
                        print_receipt: bool | None, info: SaleInfo, shift: _ShiftForSale) -> None:
    """Queue the receipt (and the drawer kick for cash): jobs after commit; a shop
    without a printer (or without the devices plugin) simply gets none."""
    cash = any(m == "cash" for m, _a in tenders) or sale.change_due > 0
    if print_receipt is None:
        print_receipt = bool(get_setting(PLUGIN, "print_receipt", session))
    if print_receipt:
        doc = replace(receipt_document(session, sale, info, register_name=shift.register_name),
                      open_drawer=cash)
        job = _hook().print_document(session=session, document=doc, printer_id=shift.printer_id,
                                     actor=actor)
        if job is not None:
            return
    if cash:
        _hook().open_cash_drawer(session=session, printer_id=shift.printer_id, actor=actor)


def print_receipt(session: Any, actor: Any, sale: Sale) -> int:
    """Queue a (re)print of ``sale``'s receipt; 409 when nothing can print it."""
    register = session.get(Register, sale.register_id)
    job = _hook().print_document(session=session, document=receipt_document(session, sale),
                                 printer_id=register.printer_id, actor=actor)
    if job is None:
        plugins = current_runtime().plugins
        enabled = getattr(plugins, "is_enabled", lambda name: True)("devices")
        why = ("no printer is configured for this register (or the default printer is "
               "missing or inactive)" if enabled else "the devices plugin is not enabled")
        raise Conflict(f"The receipt cannot be printed: {why}.", code="no_printer")
    return job


def ring_up_charges(session: Any, actor: Any, *, shift_id: int, customer_id: int | None,
                    lines: Sequence[ChargeLine], payments: Sequence[tuple[str, Decimal]],
                    ticket_id: int | None, note: str) -> SaleInfo:
    """The ``ring_up`` hook: another plugin's priced lines as a till sale."""
    # The caller priced the ticket's lines itself; the sale still carries ticket_id so
    # sale_completed implementers see which ticket it pays for.
    sale = complete_sale(session, actor, shift_id=shift_id, customer_id=customer_id,
                         charge_lines=lines, payments=payments, ticket_id=ticket_id,
                         ticket_charged_by_caller=True, note=note, print_receipt=None)
    return sale_info(sale)


# --------------------------------------------------------------------- returns

def return_sale(session: Any, actor: Any, sale_id: int, data: dict[str, Any]) -> Sale:
    """Take back some or all of a sale's lines and refund them (audited)."""
    original = session.scalar(select(Sale).where(Sale.id == sale_id).with_for_update()
                              .execution_options(populate_existing=True))
    if original is None:
        raise NotFound(f"No sale {sale_id}.")
    if original.kind != "sale":
        raise Conflict(f"{original.number} is a return; it cannot be returned.", code="not_a_sale")
    reason = (data.get("reason") or "").strip()
    if not reason:
        raise Invalid("Say why the goods come back.", fields={"reason": ["Required."]})
    method = data["refund_method"]
    shift_id = data.get("session_id")
    if shift_id is None:
        shift_id = session.scalar(select(Shift.id).where(Shift.register_id == original.register_id,
                                                         Shift.status == "open"))
        if shift_id is None:
            raise Conflict("Open a till session to pay the refund from.", code="session_closed",
                           fields={"session_id": ["No open session on the sale's register."]})
    shift = _open_shift_for_sale(session, shift_id)
    by_id = {ln.id: ln for ln in original.lines}
    returned = _returned_so_far(session, original)
    requested: dict[int, Decimal] = {}
    for i, req in enumerate(data["lines"]):
        line = by_id.get(req["line_id"])
        if line is None:
            raise Invalid(f"Line {req['line_id']} is not on {original.number}.",
                          fields={"lines": {i: {"line_id": ["Not a line of this sale."]}}})
        if line.total < 0 or line.kind == "deposit":
            raise Invalid("A credit line cannot be returned.",
                          fields={"lines": {i: {"line_id": ["A credit, not goods."]}}})
        qty = Decimal(req["quantity"])
        if qty <= 0:
            raise Invalid("The quantity must be positive.",
                          fields={"lines": {i: {"quantity": ["Must be more than 0."]}}})
        requested[line.id] = requested.get(line.id, Decimal(0)) + qty
    if not requested:
        raise Invalid("Name the lines to return.", fields={"lines": ["At least one line."]})
    ret = Sale(kind="return", status="completed", at=utcnow(), shift_id=shift.id,
               register_id=shift.register_id, location_id=shift.location_id,
               user_id=actor.id if actor else None, customer_id=original.customer_id,
               ticket_id=original.ticket_id, original_sale_id=original.id,
               prices_include_tax=original.prices_include_tax, subtotal=ZERO, tax=ZERO,
               total=ZERO, paid=ZERO, change_due=ZERO, reason=reason, note=data.get("note") or "")
    amounts: list[pricing.LineAmounts] = []
    new_lines: list[SaleLine] = []
    for position, (line_id, qty) in enumerate(sorted(requested.items()), start=1):
        line = by_id[line_id]
        done_qty, done = returned.get(line_id, (Decimal(0), pricing.LineAmounts(ZERO, ZERO, ZERO)))
        left = line.quantity - done_qty
        if qty > left:
            raise Conflict(f"Only {pricing.decimal_text(left)} of {line.description} can still "
                           f"be returned ({pricing.decimal_text(line.quantity)} sold, "
                           f"{pricing.decimal_text(done_qty)} returned).",
                           code="return_exceeds_sale", fields={"lines": {"line_id": line_id,
                                                                         "returnable": str(left)}})
        share = pricing.returned_share(pricing.LineAmounts(line.net, line.tax, line.total),
                                       line.quantity, done_qty, qty, done)
        amounts.append(share)
        new_lines.append(SaleLine(
            position=position, kind=line.kind, product_id=line.product_id, item_id=line.item_id,
            serial=line.serial, description=line.description, quantity=-qty,
            unit_price=line.unit_price, list_price=line.list_price, discount=ZERO,
            tax_rate=line.tax_rate, net=-share.net, tax=-share.tax, total=-share.total,
            warranty_plan_id=line.warranty_plan_id, covered=line.covered,
            original_line_id=line.id))
    refund = pricing.sum_lines(amounts)
    already_refunded = -to_money(session.scalar(
        select(func.coalesce(func.sum(Sale.total), 0)).where(Sale.original_sale_id == original.id,
                                                             Sale.kind == "return")) or 0)
    paid_for_goods = _paid_for_goods(original)
    if already_refunded + refund.total > paid_for_goods:
        deposit = _deposits_applied(original)
        counting = f", counting the deposit of {deposit} applied on it" if deposit else ""
        raise Conflict(f"That would refund {already_refunded + refund.total} in all; "
                       f"{paid_for_goods} was paid for this sale{counting}.",
                       code="refund_exceeds_payment")
    ret.subtotal, ret.tax, ret.total = -refund.subtotal, -refund.tax, -refund.total
    ret.paid = -refund.total
    session.add(ret)
    session.flush()
    ret.number = f"R-{ret.id:06d}"
    for ln in new_lines:
        ret.lines.append(ln)
    ret.payments.append(Payment(method=method, amount=-refund.total, reference=original.number))
    session.flush()
    audit.record(session, "pos.sale.refunded", actor=actor, record_type="pos_sale",
                 record_id=original.id, reason=reason,
                 after={"return": ret.number, "refund": refund.total, "method": method,
                        "lines": {str(k): str(v) for k, v in requested.items()}})
    _put_back_in_stock(session, actor, ret, original)
    fully = all(returned.get(ln.id, (Decimal(0),))[0] + requested.get(ln.id, Decimal(0))
                >= ln.quantity for ln in original.lines if ln.total >= 0 and ln.kind != "deposit")
    original.status = "returned" if fully else "partially_returned"
    session.flush()
    _hook().sale_returned(session=session, sale=sale_info(ret), original_sale_id=original.id,
                          actor=actor)
    return ret


def _deposits_applied(sale: Sale) -> Decimal:
    """What the customer paid earlier as a deposit and this sale applied (its deposit
    lines, negative, as a positive amount)."""
    return -sum((ln.total for ln in sale.lines if ln.kind == "deposit" and ln.total < 0), ZERO)


def _paid_for_goods(sale: Sale) -> Decimal:
    """The most a sale's returns may refund in all: its tenders less the change given,
    plus the deposits it applied — money paid for these goods too, only earlier."""
    return max(sale.paid - sale.change_due + _deposits_applied(sale), ZERO)


def _returned_so_far(session: Any, original: Sale) -> dict[int, tuple[Decimal, pricing.LineAmounts]]:
    rows = session.execute(
        select(SaleLine.original_line_id, func.sum(SaleLine.quantity), func.sum(SaleLine.net),
               func.sum(SaleLine.tax), func.sum(SaleLine.total))
        .join(Sale, Sale.id == SaleLine.sale_id)
        .where(Sale.original_sale_id == original.id, Sale.kind == "return")
        .group_by(SaleLine.original_line_id)).all()
    return {lid: (-Decimal(q), pricing.LineAmounts(-to_money(n), -to_money(t), -to_money(tt)))
            for lid, q, n, t, tt in rows}


def _put_back_in_stock(session: Any, actor: Any, ret: Sale, original: Sale) -> None:
    why = f"returned on {ret.number} (sale {original.number})"
    for ln in sorted(ret.lines, key=lambda x: x.product_id or 0):
        if ln.item_id is not None and ln.kind != "warranty":
            item = session.scalar(select(Item).where(Item.id == ln.item_id).with_for_update()
                                  .execution_options(populate_existing=True))
            if item.status != "sold":
                raise Conflict(f"Unit {item.serial} is {item.status}, not sold; it cannot be "
                               "taken back.", code="unit_not_sold")
            update_item(session, actor, item, {"status": "returned", "owner_id": None,
                                               "location_id": ret.location_id, "reason": why})
        elif ln.product_id is not None and ln.kind in ("goods", "part"):
            product = session.get(Product, ln.product_id)
            if product.kind != "service" and not product.serialized:
                move_stock(session, actor, product_id=ln.product_id, from_location_id=None,
                           to_location_id=ret.location_id, quantity=int(-ln.quantity),
                           reason=why, reference=f"pos.sale:{ret.id}")


# ------------------------------------------------------------------- customers

def move_customer_sales(session: Any, into_id: int, merged_id: int) -> int:
    """Customer ``merged_id`` was folded into ``into_id`` (``customer_merged``): its
    sales and returns become ``into_id``'s, in one UPDATE like the kernel's move of
    the units they own (the sales already loaded follow). The receipts then name the
    surviving customer. Returns how many rows moved; the kernel's merge entry is the
    audit record."""
    return session.execute(
        update(Sale).where(Sale.customer_id == merged_id).values(customer_id=into_id)
        .execution_options(synchronize_session="fetch")).rowcount


# ------------------------------------------------------------------- reading

def get_sale(session: Any, sale_id: int) -> Sale:
    sale = session.get(Sale, sale_id)
    if sale is None:
        raise NotFound(f"No sale {sale_id}.")
    return sale


def sales_query(args: dict[str, Any]) -> Select:
    stmt = select(Sale).order_by(Sale.id.desc())
    if args.get("number"):
        stmt = stmt.where(Sale.number == args["number"].strip().upper())
    if args.get("customer_id") is not None:
        stmt = stmt.where(Sale.customer_id == args["customer_id"])
    if args.get("session_id") is not None:
        stmt = stmt.where(Sale.shift_id == args["session_id"])
    if args.get("kind"):
        stmt = stmt.where(Sale.kind == args["kind"])
    if args.get("serial"):
        norm = normalize_serial(args["serial"])
        stmt = stmt.where(Sale.id.in_(
            select(SaleLine.sale_id).join(Item, Item.id == SaleLine.item_id)
            .where(Item.serial_norm == norm)))
    if args.get("barcode"):
        code = args["barcode"].strip()
        stmt = stmt.where(Sale.id.in_(
            select(SaleLine.sale_id).join(Product, Product.id == SaleLine.product_id)
            .where(or_(Product.barcode == code, Product.sku == code))))
    return stmt


def sale_info(sale: Sale) -> SaleInfo:
    lines = tuple(SaleLineInfo(
        line_id=ln.id, description=ln.description, quantity=ln.quantity, unit_price=ln.unit_price,
        discount=ln.discount, tax=ln.tax, total=ln.total, product_id=ln.product_id,
        item_id=ln.item_id, serial=ln.serial, warranty_plan_id=ln.warranty_plan_id, kind=ln.kind)
        for ln in sale.lines)
    return SaleInfo(id=sale.id, number=sale.number or "", kind=sale.kind, at=sale.at,
                    customer_id=sale.customer_id, location_id=sale.location_id,
                    ticket_id=sale.ticket_id, lines=lines, subtotal=sale.subtotal, tax=sale.tax,
                    total=sale.total, paid=sale.paid,
                    payments=tuple((p.method, p.amount) for p in sale.payments))


# ------------------------------------------------------------------- receipts

def receipt_document(session: Any, sale: Sale, info: SaleInfo | None = None, *,
                     register_name: str | None = None) -> ReceiptDocument:
    """The sale's receipt as data; ``core.render_text``/``render_html`` and the
    devices plugin lay it out."""
    info = info or sale_info(sale)
    header = [get_setting("core", "shop_name", session)]
    header += [ln for ln in str(get_setting("core", "shop_address", session) or "").splitlines() if ln]
    phone = get_setting("core", "shop_phone", session)
    if phone:
        header.append(phone)
    if register_name is None:
        register_name = session.get(Register, sale.register_id).name
    when = sale.at.strftime("%Y-%m-%d %H:%M")
    doc_info = [("Sale" if sale.kind == "sale" else "Return", sale.number or ""), ("Date", when),
                ("Register", register_name)]
    if sale.original_sale_id:
        original = session.get(Sale, sale.original_sale_id)
        doc_info.append(("Original sale", original.number or ""))
    if sale.customer_id:
        customer = session.get(Customer, sale.customer_id)
        if customer is not None:
            doc_info.append(("Customer", customer.name))
    lines = []
    for ln in sale.lines:
        detail = []
        if ln.serial and ln.kind != "warranty":
            detail.append(f"Serial: {ln.serial}")
        if ln.quantity not in (1, -1):
            detail.append(f"@ {ln.unit_price}")
        if ln.discount:
            detail.append(f"Discount -{ln.discount}")
        if ln.covered:
            detail.append(f"Covered by warranty (list {ln.list_price})")
        if ln.tax_rate:
            detail.append(f"Tax {pricing.decimal_text(ln.tax_rate)}%: {ln.tax}")
        lines.append(ReceiptLine(description=ln.description,
                                 quantity=pricing.decimal_text(ln.quantity),
                                 amount=str(ln.total if sale.prices_include_tax else ln.net),
                                 detail="\n".join(detail)))
    totals = [("Subtotal", str(sale.subtotal))]
    totals.append(("Tax (included)" if sale.prices_include_tax else "Tax", str(sale.tax)))
    totals.append(("Total", str(sale.total)))
    for p in sale.payments:
        label = p.method.replace("_", " ").title()
        totals.append((("Refund " if sale.kind == "return" else "") + label, str(p.amount)))
    if sale.change_due:
        totals.append(("Change", str(sale.change_due)))
    sections = []
    for batch in _hook().receipt_sections(session=session, sale=info):
        sections += list(batch or ())
    if sale.kind == "return" and sale.reason:
        sections.append(ReceiptSection("Reason", (sale.reason,)))
    footer = [ln for ln in str(get_setting(PLUGIN, "receipt_footer", session) or "").splitlines() if ln]
    return ReceiptDocument(header=tuple(header), title="Receipt" if sale.kind == "sale" else "Refund",
                           info=tuple(doc_info), lines=tuple(lines), totals=tuple(totals),
                           sections=tuple(sections), barcode=sale.number, footer=tuple(footer))


# --------------------------------------------------------------------- the till

def till_product(session: Any, code: str) -> dict[str, Any]:
    """What the till needs about a scanned code (one product, never the catalog)."""
    product = lookup_product(session, code)
    if product is None:
        raise NotFound(f"No product with SKU or barcode {code!r}.")
    return product_card(product)


def product_card(product: Product) -> dict[str, Any]:
    return {"id": product.id, "sku": product.sku, "barcode": product.barcode, "name": product.name,
            "kind": product.kind, "price": product.price, "tax_rate": product.tax_rate,
            "serialized": product.serialized, "active": product.active}


def open_shifts(session: Any) -> list[Shift]:
    return list(session.scalars(select(Shift).where(Shift.status == "open").order_by(Shift.id)))
