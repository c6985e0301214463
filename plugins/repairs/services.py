"""The service desk's domain logic: plain functions taking the session (the unit of
work) and the actor, raising the kernel's domain errors. No Flask here.

Money: every charged line is rounded once (``to_money``, half-up to cents) when it is
recorded; totals are sums of stored lines. Covered warranty work is stored with its
list amount and charged at zero.
"""
from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Sequence

from sqlalchemy import (BigInteger, any_, bindparam, case, cast, column, func, or_, select, text, union,
                        union_all, update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core import (ChargeLine, Conflict, Coverage, DomainError, Invalid, LineAmounts, NotFound,
                  ReceiptDocument, ReceiptLine, ReceiptSection, SaleInfo, TicketCharges, Totals,
                  audit, consume_reservation, current_runtime, fts5_prefix_match, get_setting,
                  release_reservation, reserve_stock, sum_lines, to_money, utcnow)
from plugins.repairs import pricing, records
from plugins.repairs.models import (HOLD_REASONS, OPEN_STATUSES, STATUSES, Estimate, Labor, Note,
                                    Part, Pickup, PublicAttempt, StatusChange, TechMonth, Ticket,
                                    TicketUnit)

ZERO = Decimal("0.00")
RESERVATION_TYPE = "repairs.ticket"

# ---------------------------------------------------------------- workflow table
# Every move a ticket may make. Anything else is a 409 (code "impossible_transition").
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"diagnosing", "awaiting_approval", "in_repair", "at_vendor",
                           "on_hold", "cancelled"}),
    "diagnosing": frozenset({"awaiting_approval", "awaiting_parts", "in_repair", "at_vendor",
                             "ready", "on_hold", "cancelled"}),
    "awaiting_approval": frozenset({"diagnosing", "awaiting_parts", "in_repair", "ready",
                                    "on_hold", "cancelled"}),
    "awaiting_parts": frozenset({"in_repair", "awaiting_approval", "on_hold", "cancelled"}),
    "in_repair": frozenset({"awaiting_parts", "awaiting_approval", "at_vendor", "ready",
                            "on_hold", "diagnosing"}),
    "at_vendor": frozenset({"in_repair", "awaiting_approval", "ready", "on_hold"}),
    "ready": frozenset({"collected", "in_repair"}),
    "on_hold": frozenset({"received", "diagnosing", "awaiting_approval", "awaiting_parts",
                          "in_repair", "at_vendor", "ready", "cancelled"}),
    "collected": frozenset(),
    "cancelled": frozenset(),
}

STATUS_WORDS = {
    "received": "We have your item and it is waiting for a technician.",
    "diagnosing": "A technician is looking into the problem.",
    "awaiting_approval": "We need your approval of the estimate before we go on.",
    "awaiting_parts": "We are waiting for parts.",
    "in_repair": "Your item is being repaired.",
    "at_vendor": "Your item is with a specialist repair centre.",
    "ready": "Your item is ready to collect.",
    "collected": "Collected. Thank you!",
    "on_hold": "Your repair is on hold.",
    "cancelled": "This repair was cancelled.",
}
STATUS_LABELS = {s: s.replace("_", " ").capitalize() for s in STATUSES}
HOLD_WORDS = {"parts": "waiting for parts", "escalated": "referred to a senior technician",
              "customer_decision": "waiting for your decision"}

NUMBER_RE = re.compile(r"^\s*R?-?\s*0*(\d{1,12})\s*$", re.IGNORECASE)


def _hook() -> Any:
    return current_runtime().hook


def _month(at: dt.datetime | dt.date) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def format_number(ticket_id: int) -> str:
    return f"R-{ticket_id:06d}"


def parse_number(raw: str) -> str | None:
    """``R-000123``, ``r123``, ``123`` → ``R-000123``; None when it is not a number."""
    m = NUMBER_RE.match(raw or "")
    return format_number(int(m.group(1))) if m else None


# ---------------------------------------------------------------- settings

def labour_rate(session: Session) -> Decimal:
    return to_money(get_setting("repairs", "labour_rate", session))


def comeback_days(session: Session) -> int:
    return int(get_setting("repairs", "comeback_days", session))


def status_url(session: Session, ticket: Ticket) -> str:
    base = (get_setting("repairs", "status_base_url", session) or "").rstrip("/")
    return f"{base}/repairs/status/{ticket.number}?t={ticket.status_token}"


# ---------------------------------------------------------------- look-ups

def get_ticket(session: Session, ticket_id: Any, *, lock: bool = False) -> Ticket:
    ticket = None
    if isinstance(ticket_id, int) and 0 < ticket_id < 2**63:
        stmt = select(Ticket).where(Ticket.id == ticket_id)
        ticket = session.scalar(stmt.with_for_update() if lock else stmt)
    if ticket is None:
        raise NotFound(f"No repair ticket {ticket_id}.", code="ticket_not_found")
    return ticket


def ticket_units(session: Session, ticket: Ticket) -> list[TicketUnit]:
    return list(session.scalars(select(TicketUnit).where(TicketUnit.ticket_id == ticket.id)
                                .order_by(TicketUnit.id)))


def _user_exists(session: Session, user_id: int) -> bool:
    return bool(records.user_names(session, {user_id}))


# ---------------------------------------------------------------- intake

def _check_customer(session: Session, customer_id: int) -> Any:
    c = records.customer(session, customer_id)
    if c is None:
        raise Invalid(f"No customer {customer_id}.", fields={"customer_id": ["Unknown customer."]})
    if c.merged_into_id is not None:
        raise Invalid(f"Customer {customer_id} was merged into {c.merged_into_id}.",
                      fields={"customer_id": [f"Merged into {c.merged_into_id}."]})
    return c


def _intake_unit(session: Session, actor: Any, customer_id: int, spec: dict[str, Any],
                 where: str) -> TicketUnit:
    """One unit from ``{item_id}``, ``{product_id, serial}`` or ``{item_description}``."""
    if spec.get("item_id") is not None:
        row = records.item(session, spec["item_id"])
        if row is None:
            raise Invalid(f"No unit {spec['item_id']}.", fields={where: ["Unknown unit."]})
        if row.status == "in_stock":
            raise Conflict(f"Unit {row.serial} is in the shop's stock, not a customer's.",
                           fields={where: ["In stock."]}, code="unit_in_stock")
        return TicketUnit(item_id=row.id, product_id=row.product_id, serial=row.serial,
                          description=row.product.name)
    if spec.get("product_id") is not None or spec.get("serial"):
        if spec.get("product_id") is None or not (spec.get("serial") or "").strip():
            raise Invalid("A unit by serial needs both product_id and serial.",
                          fields={where: ["Give product_id and serial together."]})
        item_id = records.register_customer_unit(session, actor, product_id=spec["product_id"],
                                                  serial=spec["serial"], owner_id=customer_id)
        row = records.item(session, item_id)
        return TicketUnit(item_id=row.id, product_id=row.product_id, serial=row.serial,
                          description=row.product.name)
    description = (spec.get("item_description") or "").strip()
    if not description:
        raise Invalid("Say which unit: item_id, product_id and serial, or item_description.",
                      fields={where: ["Required."]})
    return TicketUnit(description=description)


def _coverage_of(session: Session, item_id: int, on: dt.date) -> Coverage | None:
    answer = _hook().resolve_coverage(session=session, item_id=item_id, on=on)
    return answer if isinstance(answer, Coverage) and answer.covered else None


def _last_repair_of(session: Session, item_id: int, since: dt.datetime) -> Ticket | None:
    return session.scalar(
        select(Ticket).join(TicketUnit, TicketUnit.ticket_id == Ticket.id)
        .where(TicketUnit.item_id == item_id, Ticket.status == "collected",
               TicketUnit.released_at >= since)
        .order_by(TicketUnit.released_at.desc()).limit(1))


def _rollup(session: Session, technician_id: int | None, month: str, kind: str,
            **deltas: Any) -> None:
    """Add ``deltas`` to one row of ``repairs_tech_month`` (created on first use), in
    one conditional UPDATE so concurrent writers never lose a count."""
    key = dict(technician_id=technician_id or 0, month=month, product_kind=kind or "other")
    values = {k: getattr(TechMonth, k) + v for k, v in deltas.items()}
    result = session.execute(update(TechMonth).where(
        *(getattr(TechMonth, k) == v for k, v in key.items())).values(**values))
    if result.rowcount == 0:
        row = TechMonth(**key, completed=0, labor_minutes=0, estimated_minutes=0,
                        turnaround_seconds=0, comebacks=0, labor_revenue=ZERO, parts_revenue=ZERO)
        for k, v in deltas.items():
            setattr(row, k, v)
        session.add(row)
        session.flush()


def create_ticket(session: Session, actor: Any, data: dict[str, Any]) -> Ticket:
    """Open a ticket: customer, units, the customer's words, what was left with it,
    a promised date, an optional estimate (the amount they agreed to at the counter)
    and deposit. Calls ``ticket_created``."""
    customer = _check_customer(session, data["customer_id"])
    specs = list(data.get("units") or [])
    top = {k: data.get(k) for k in ("item_id", "product_id", "serial", "item_description")
           if data.get(k) not in (None, "")}
    if top:
        specs.insert(0, top)
    if not specs:
        raise Invalid("Say which unit is left: item_id, product_id and serial, or item_description.",
                      fields={"units": ["At least one unit."]})
    if len(specs) > 20:
        raise Invalid("At most 20 units on one ticket.", fields={"units": ["Too many."]})
    units = [_intake_unit(session, actor, customer.id, spec, f"units.{i}" if spec is not top else
                          "item_id") for i, spec in enumerate(specs)]
    item_ids = [u.item_id for u in units if u.item_id is not None]
    if len(set(item_ids)) != len(item_ids):
        raise Invalid("The same unit is listed twice.", fields={"units": ["Duplicate unit."]})
    busy = session.scalar(select(Ticket.number).join(TicketUnit, TicketUnit.ticket_id == Ticket.id)
                          .where(TicketUnit.item_id.in_(item_ids or [-1]),
                                 TicketUnit.released_at.is_(None),
                                 Ticket.status.in_(OPEN_STATUSES)).limit(1))
    if busy is not None:
        raise Conflict(f"That unit is already in for repair on {busy}.",
                       fields={"units": [f"Open on {busy}."]}, code="unit_already_in_service")
    now = utcnow()
    today = now.date()
    kinds = []
    for u in units:
        if u.product_id is not None:
            p = records.product(session, u.product_id)
            kinds.append(p.kind if p else "")
    ticket = Ticket(
        customer_id=customer.id, status="received", problem=data["problem"].strip(),
        instructions=(data.get("instructions") or "").strip(),
        accessories=(data.get("accessories") or "").strip(),
        condition=(data.get("condition") or "").strip(), rush=bool(data.get("rush")),
        priority=data.get("priority") or 0, promised_for=data.get("promised_for"),
        technician_id=None, status_token=secrets.token_urlsafe(18), deposit=ZERO,
        customer_name=customer.name, product_kind=(kinds[0] if kinds else "") or "other",
        units_text=" ".join(f"{u.description} {u.serial}".strip() for u in units),
        opened_at=now, opened_month=_month(now), status_changed_at=now,
        created_by_id=actor.id if actor else None)
    if data.get("technician_id") is not None:
        _check_technician(session, data["technician_id"])
        ticket.technician_id = data["technician_id"]
    session.add(ticket)
    session.flush()
    ticket.number = format_number(ticket.id)   # the id is unique, so is the number
    window = now - dt.timedelta(days=comeback_days(session))
    for u in units:
        u.ticket_id = ticket.id
        if u.item_id is not None:
            cov = _coverage_of(session, u.item_id, today)
            if cov is not None:
                u.coverage = cov.coverage or "parts_and_labor"
                u.coverage_note = (cov.plan or cov.reason or "")[:200]
            earlier = _last_repair_of(session, u.item_id, window)
            if earlier is not None and ticket.comeback_of_id is None:
                ticket.comeback_of_id = earlier.id
        session.add(u)
    session.add(StatusChange(ticket_id=ticket.id, from_status=None, to_status="received",
                             actor_id=actor.id if actor else None, at=now, note="intake"))
    session.flush()
    if ticket.comeback_of_id is not None:
        earlier = session.get(Ticket, ticket.comeback_of_id)
        if earlier.completed_month:
            _rollup(session, earlier.technician_id, earlier.completed_month,
                    earlier.product_kind, comebacks=1)
    if data.get("estimate") is not None:
        # no work recorded yet: its tax at the labour tax rate (see estimate_figures)
        figures = estimate_figures(session, ticket, to_money(data["estimate"]), None)
        session.add(Estimate(ticket_id=ticket.id, **figures, status="approved",
                             note="agreed at drop-off", requested_by_id=actor.id if actor else None,
                             requested_at=now, decided_at=now, decided_via="drop_off",
                             decided_by_id=actor.id if actor else None))
    if data.get("deposit"):
        _take_deposit(session, actor, ticket, data["deposit"])
    audit.record(session, "repairs.ticket.created", actor=actor, record_type="ticket",
                 record_id=ticket.id, after={"number": ticket.number, "customer_id": customer.id,
                                             "units": [u.item_id or u.description for u in units],
                                             "deposit": str(ticket.deposit)})
    session.flush()
    _hook().ticket_created(session=session, ticket=ticket, actor=actor)
    return ticket


def _take_deposit(session: Session, actor: Any, ticket: Ticket, deposit: dict[str, Any]) -> None:
    amount = to_money(deposit["amount"])
    if amount <= 0:
        return
    method = deposit.get("method") or "cash"
    reference = (deposit.get("reference") or "").strip()
    sale = None
    if deposit.get("pos_session_id") is not None:
        sale = _hook().ring_up(
            session=session, actor=actor, pos_session_id=deposit["pos_session_id"],
            customer_id=ticket.customer_id,
            lines=[ChargeLine(description=f"Deposit on repair {ticket.number}",
                              quantity=Decimal("1"), unit_price=amount, kind="deposit")],
            payments=[(method, amount)], ticket_id=ticket.id, note=f"deposit {ticket.number}")
    ticket.deposit, ticket.deposit_method = amount, method
    if isinstance(sale, SaleInfo):
        ticket.deposit_sale_id, ticket.deposit_reference = sale.id, sale.number
    else:
        ticket.deposit_reference = reference or f"{method} at intake"
    audit.record(session, "repairs.deposit.taken", actor=actor, record_type="ticket",
                 record_id=ticket.id, after={"amount": str(amount), "method": method,
                                             "reference": ticket.deposit_reference,
                                             "sale_id": ticket.deposit_sale_id})


EDITABLE = ("problem", "instructions", "accessories", "condition", "rush", "priority",
            "promised_for")


def update_ticket(session: Session, actor: Any, ticket: Ticket, data: dict[str, Any]) -> Ticket:
    if ticket.status in ("collected", "cancelled"):
        raise Conflict(f"Ticket {ticket.number} is {ticket.status}.", code="ticket_closed")
    before, after = {}, {}
    for name in EDITABLE:
        if name in data and getattr(ticket, name) != data[name]:
            before[name], after[name] = getattr(ticket, name), data[name]
            setattr(ticket, name, data[name].strip() if isinstance(data[name], str) else data[name])
    if after:
        audit.record(session, "repairs.ticket.updated", actor=actor, record_type="ticket",
                     record_id=ticket.id, before=before, after=after)
    session.flush()
    return ticket


# ---------------------------------------------------------------- workflow

def _check_technician(session: Session, user_id: int) -> None:
    if not _user_exists(session, user_id):
        raise Invalid(f"No user {user_id}.", fields={"technician_id": ["Unknown user."]})


def assign(session: Session, actor: Any, ticket: Ticket, technician_id: int | None) -> Ticket:
    if ticket.status in ("collected", "cancelled"):
        raise Conflict(f"Ticket {ticket.number} is {ticket.status}.", code="ticket_closed")
    if technician_id is not None:
        _check_technician(session, technician_id)
    before = ticket.technician_id
    ticket.technician_id = technician_id
    audit.record(session, "repairs.ticket.assigned", actor=actor, record_type="ticket",
                 record_id=ticket.id, before={"technician_id": before},
                 after={"technician_id": technician_id})
    session.flush()
    return ticket


def pending_estimate(session: Session, ticket: Ticket) -> Estimate | None:
    return session.scalar(select(Estimate).where(Estimate.ticket_id == ticket.id,
                                                 Estimate.status == "pending")
                          .order_by(Estimate.id.desc()).limit(1))


def approved_estimate(session: Session, ticket: Ticket) -> Estimate | None:
    """What the customer last agreed to pay (None: nothing approved yet)."""
    return session.scalar(select(Estimate).where(Estimate.ticket_id == ticket.id,
                                                 Estimate.status == "approved")
                          .order_by(Estimate.id.desc()).limit(1))


def transition(session: Session, actor: Any, ticket: Ticket, to: str, *, note: str = "",
               reason: str | None = None, _system: bool = False) -> Ticket:
    """Move ``ticket`` to status ``to`` if the workflow table allows it (else 409),
    stamping who and when. Calls ``ticket_status_changed`` (and ``ticket_ready``)."""
    old = ticket.status
    if to not in STATUSES:
        raise Invalid(f"Unknown status {to!r}.", fields={"to": [f"One of: {', '.join(STATUSES)}."]})
    if to not in TRANSITIONS[old]:
        raise Conflict(f"A ticket cannot go from {old} to {to}.",
                       fields={"to": [f"Allowed from {old}: {', '.join(sorted(TRANSITIONS[old])) or 'none'}."]},
                       code="impossible_transition")
    if to == "on_hold":
        if reason not in HOLD_REASONS:
            raise Invalid("Say why the ticket is on hold.",
                          fields={"reason": [f"One of: {', '.join(HOLD_REASONS)}."]})
    elif reason is not None and reason != "":
        raise Invalid("A reason is given only for on_hold.", fields={"reason": ["Only for on_hold."]})
    if to == "collected" and not _system:
        raise Conflict("A ticket is collected through checkout.", code="use_checkout",
                       fields={"to": ["Use POST /repairs/tickets/{id}/checkout."]})
    if old == "awaiting_approval" and to in ("in_repair", "awaiting_parts") and \
            pending_estimate(session, ticket) is not None:
        raise Conflict("The estimate is still waiting for the customer's approval.",
                       code="approval_pending")
    now = utcnow()
    ticket.status, ticket.status_changed_at = to, now
    ticket.hold_reason = reason if to == "on_hold" else None
    session.add(StatusChange(ticket_id=ticket.id, from_status=old, to_status=to,
                             reason=reason or "", note=note or "",
                             actor_id=actor.id if actor else None, at=now))
    if to == "cancelled":
        _release_parts(session, actor, ticket)
        for est in session.scalars(select(Estimate).where(Estimate.ticket_id == ticket.id,
                                                          Estimate.status == "pending")):
            est.status = "superseded"
    if to == "ready":
        ticket.ready_at = now
        if ticket.completed_month is None:
            _count_completion(session, ticket, now)
    session.flush()
    _hook().ticket_status_changed(session=session, ticket=ticket, old=old, new=to, actor=actor)
    if to == "ready":
        _hook().ticket_ready(session=session, ticket=ticket, actor=actor)
    return ticket


def _count_completion(session: Session, ticket: Ticket, at: dt.datetime) -> None:
    ticket.completed_month = _month(at)
    minutes = session.scalar(select(func.coalesce(func.sum(Labor.minutes), 0))
                             .where(Labor.ticket_id == ticket.id)) or 0
    estimated = session.scalar(select(Estimate.labor_minutes).where(
        Estimate.ticket_id == ticket.id, Estimate.status.in_(("approved", "pending")))
        .order_by(Estimate.id.desc()).limit(1)) or 0
    opened = ticket.opened_at if ticket.opened_at.tzinfo else ticket.opened_at.replace(tzinfo=dt.timezone.utc)
    _rollup(session, ticket.technician_id, ticket.completed_month, ticket.product_kind,
            completed=1, labor_minutes=int(minutes), estimated_minutes=int(estimated),
            turnaround_seconds=int((at - opened).total_seconds()))


def _require_open(ticket: Ticket) -> None:
    if ticket.status in ("collected", "cancelled"):
        raise Conflict(f"Ticket {ticket.number} is {ticket.status}.", code="ticket_closed")


# ---------------------------------------------------------------- notes and work

def add_note(session: Session, actor: Any, ticket: Ticket, body: str, visibility: str) -> Note:
    note = Note(ticket_id=ticket.id, body=body.strip(), visibility=visibility,
                author_id=actor.id if actor else None, at=utcnow())
    session.add(note)
    session.flush()
    return note


def _unit_for(session: Session, ticket: Ticket, unit_id: int | None) -> TicketUnit:
    units = ticket_units(session, ticket)
    if unit_id is None:
        open_units = [u for u in units if u.released_at is None]
        return (open_units or units)[0]
    for u in units:
        if u.id == unit_id:
            if u.released_at is not None:
                raise Conflict("That unit was already collected.", code="unit_released")
            return u
    raise Invalid(f"Unit {unit_id} is not on this ticket.", fields={"unit_id": ["Not on this ticket."]})


def _covers(unit: TicketUnit, what: str) -> bool:
    return unit.coverage in (what, "parts_and_labor")


def _recorded_work(session: Session, ticket: Ticket) -> tuple[list[Part], list[Labor]]:
    """The work recorded so far: parts not taken off, labour, charged yet or not."""
    parts = session.scalars(select(Part).where(Part.ticket_id == ticket.id,
                                               Part.status != "released").order_by(Part.id))
    labor = session.scalars(select(Labor).where(Labor.ticket_id == ticket.id).order_by(Labor.id))
    return list(parts), list(labor)


def work_totals(session: Session, ticket: Ticket,
                work: tuple[list[Part], list[Labor]] | None = None) -> Totals:
    """What the work recorded so far (``work``, read when not given) comes to, each
    line as the till charges it: before tax, tax, total."""
    parts, labor = work if work is not None else _recorded_work(session, ticket)
    return sum_lines(_charged(session, _charge_lines(session, parts, labor)))


def _ask_again_if_over(session: Session, actor: Any, ticket: Ticket) -> None:
    """Work beyond what the customer approved needs their approval again: what they
    would pay for it, tax included, against the total they approved (an estimate from
    before estimates stated their tax: the work in prices against its amount)."""
    approved = approved_estimate(session, ticket)
    if approved is None or pending_estimate(session, ticket) is not None:
        return
    work = work_totals(session, ticket)
    if approved.total is not None:
        if work.total <= approved.total:
            return
        note = f"The work now comes to {work.total} with tax, more than the {approved.total} approved."
    else:
        so_far = pricing.priced(work, prices_include_tax=_prices_include_tax(session))
        if so_far <= approved.amount:
            return
        note = f"The work now comes to {so_far}, more than the {approved.amount} approved."
    request_estimate(session, actor, ticket, note=note)


def add_labor(session: Session, actor: Any, ticket: Ticket, data: dict[str, Any]) -> Labor:
    _require_open(ticket)
    if ticket.status == "ready":
        raise Conflict("The ticket is ready; move it back to in_repair to add work.",
                       code="ticket_ready")
    technician_id = data.get("technician_id") or (actor.id if actor else None)
    if technician_id is not None:
        _check_technician(session, technician_id)
    unit = _unit_for(session, ticket, data.get("unit_id"))
    rate = labour_rate(session)
    minutes = int(data["minutes"])
    list_amount = to_money(rate * minutes / Decimal(60))
    covered = _covers(unit, "labor")
    labor = Labor(ticket_id=ticket.id, unit_id=unit.id, technician_id=technician_id,
                  minutes=minutes, description=data["description"].strip(), rate=rate,
                  list_amount=list_amount, amount=ZERO if covered else list_amount,
                  covered=covered, at=utcnow())
    session.add(labor)
    session.flush()
    _ask_again_if_over(session, actor, ticket)
    return labor


def add_part(session: Session, actor: Any, ticket: Ticket, data: dict[str, Any]) -> Part:
    """A part from stock, reserved to the ticket; short stock → a ``to_order`` line
    and the ``parts_short`` hook."""
    _require_open(ticket)
    if ticket.status == "ready":
        raise Conflict("The ticket is ready; move it back to in_repair to add parts.",
                       code="ticket_ready")
    product = records.product(session, data["product_id"])
    if product is None:
        raise Invalid(f"No product {data['product_id']}.", fields={"product_id": ["Unknown product."]})
    if product.kind == "service":
        raise Invalid("A service is not a part; record labour instead.",
                      fields={"product_id": ["Services have no stock."]})
    quantity = int(data["quantity"])
    serial = (data.get("serial") or "").strip() or None
    if product.serialized and quantity != 1:
        raise Invalid("A serialized part is added one unit at a time.",
                      fields={"quantity": ["Must be 1 for a serialized part."]})
    if product.serialized and serial is None:
        raise Invalid("Give the serial of the part.", fields={"serial": ["Required."]})
    unit = _unit_for(session, ticket, data.get("unit_id"))
    location_id = data.get("location_id") or records.default_location_id(session)
    price = to_money(data["unit_price"]) if data.get("unit_price") is not None else to_money(product.price)
    list_amount = to_money(price * quantity)
    covered = _covers(unit, "parts")
    part = Part(ticket_id=ticket.id, unit_id=unit.id, product_id=product.id,
                location_id=location_id, quantity=quantity, serial=serial,
                description=product.name, unit_price=price, tax_rate=product.tax_rate,
                list_amount=list_amount, amount=ZERO if covered else list_amount,
                covered=covered, status="to_order", added_by_id=actor.id if actor else None,
                at=utcnow())
    session.add(part)
    session.flush()
    if location_id is not None and _try_reserve(session, actor, ticket, part):
        pass
    else:
        _hook().parts_short(session=session, ticket_id=ticket.id, product_id=product.id,
                            quantity=Decimal(quantity), actor=actor)
    session.flush()
    _ask_again_if_over(session, actor, ticket)
    return part


def _try_reserve(session: Session, actor: Any, ticket: Ticket, part: Part) -> bool:
    """Reserve the part's stock in a savepoint; False (nothing written) when short."""
    try:
        with session.begin_nested():
            res = reserve_stock(session, actor, product_id=part.product_id,
                                location_id=part.location_id, quantity=part.quantity,
                                reference_type=RESERVATION_TYPE, reference_id=ticket.id,
                                note=f"{ticket.number}: {part.description}")
    except Conflict:
        return False
    part.reservation_id, part.status = res.id, "reserved"
    return True


def remove_part(session: Session, actor: Any, ticket: Ticket, part_id: int) -> Part:
    _require_open(ticket)
    part = session.get(Part, part_id) if isinstance(part_id, int) else None
    if part is None or part.ticket_id != ticket.id:
        raise NotFound(f"No part {part_id} on this ticket.", code="part_not_found")
    if part.status in ("consumed", "released") or part.pickup_id is not None:
        raise Conflict(f"That part is already {part.status}.", code="part_closed")
    if part.status == "reserved" and part.reservation_id is not None:
        release_reservation(session, actor, part.reservation_id)
    part.status = "released"
    audit.record(session, "repairs.part.removed", actor=actor, record_type="ticket",
                 record_id=ticket.id, after={"part_id": part.id, "product_id": part.product_id,
                                             "quantity": part.quantity})
    session.flush()
    return part


def _release_parts(session: Session, actor: Any, ticket: Ticket) -> None:
    for part in session.scalars(select(Part).where(Part.ticket_id == ticket.id,
                                                   Part.status.in_(("reserved", "to_order")))):
        if part.status == "reserved" and part.reservation_id is not None and \
                records.reservation_status(session, part.reservation_id) == "active":
            release_reservation(session, actor, part.reservation_id)
        part.status = "released"


# ---------------------------------------------------------------- estimates

def estimate_figures(session: Session, ticket: Ticket, amount: Decimal | None,
                     tax_rate: Decimal | None, work: Totals | None = None) -> dict[str, Any]:
    """An estimate's ``amount`` (in the shop's prices), ``tax``, ``total`` (what the
    customer pays) and ``prices_include_tax``: the work recorded as the till charges
    it, or a quoted ``amount`` taxed at ``tax_rate`` — by default at the rate of the
    work recorded so far, or with none yet the labour tax rate
    (:func:`pricing.estimate_amounts`); ``work``: :func:`work_totals`, read when not
    given."""
    include = _prices_include_tax(session)
    figures = pricing.estimate_amounts(
        amount, work if work is not None else work_totals(session, ticket),
        prices_include_tax=include, tax_rate=tax_rate,
        default_rate=Decimal(get_setting("repairs", "labour_tax_rate", session)))
    return {"amount": figures.total if include else figures.net, "tax": figures.tax,
            "total": figures.total, "prices_include_tax": include}


def request_estimate(session: Session, actor: Any, ticket: Ticket, *, amount: Any = None,
                     tax_rate: Any = None, note: str = "") -> Estimate:
    """Quote the customer, tax stated: parts and labour recorded (or ``amount``, its
    tax at ``tax_rate``; see :func:`estimate_figures`). Supersedes a pending
    estimate, moves the ticket to ``awaiting_approval`` and calls
    ``estimate_requested`` with what the customer would pay, tax included."""
    _require_open(ticket)
    if ticket.status == "ready":
        raise Conflict("The ticket is ready; there is nothing left to approve.", code="ticket_ready")
    recorded = _recorded_work(session, ticket)   # read once: the sums and the figures
    parts = to_money(sum((p.amount for p in recorded[0]), ZERO))
    labor = to_money(sum((lab.amount for lab in recorded[1]), ZERO))
    minutes = sum(lab.minutes for lab in recorded[1])
    figures = estimate_figures(session, ticket, None if amount is None else to_money(amount),
                               None if tax_rate is None else Decimal(tax_rate),
                               work_totals(session, ticket, recorded))
    for est in session.scalars(select(Estimate).where(Estimate.ticket_id == ticket.id,
                                                      Estimate.status == "pending")):
        est.status = "superseded"
    est = Estimate(ticket_id=ticket.id, **figures, parts_amount=parts, labor_amount=labor,
                   labor_minutes=minutes, note=note or "", status="pending",
                   requested_by_id=actor.id if actor else None, requested_at=utcnow())
    session.add(est)
    session.flush()
    if ticket.status != "awaiting_approval":
        transition(session, actor, ticket, "awaiting_approval", note="estimate sent")
    _hook().estimate_requested(session=session, ticket=ticket, amount=est.total, actor=actor)
    return est


def decide_estimate(session: Session, actor: Any, ticket: Ticket, *, approved: bool, via: str,
                    note: str = "") -> Estimate:
    """Record the customer's yes or no (staff: how it came; the status link: ``via
    = "status_link"``). Approved: work goes on (``awaiting_parts`` when a part is
    on order); declined: on hold for the customer's decision."""
    est = pending_estimate(session, ticket)
    if est is None:
        raise Conflict("No estimate is waiting for approval.", code="no_pending_estimate")
    est.status = "approved" if approved else "declined"
    est.decided_at, est.decided_via = utcnow(), via
    est.decided_by_id = actor.id if actor else None
    est.decision_note = note or ""
    audit.record(session, f"repairs.estimate.{est.status}", actor=actor, record_type="ticket",
                 record_id=ticket.id, after={"estimate_id": est.id, "amount": str(est.amount),
                                             "tax": None if est.tax is None else str(est.tax),
                                             "total": None if est.total is None else str(est.total),
                                             "via": via, "note": note or None})
    session.flush()
    if ticket.status == "awaiting_approval":
        if approved:
            waiting = session.scalar(select(func.count()).select_from(Part).where(
                Part.ticket_id == ticket.id, Part.status == "to_order"))
            transition(session, actor, ticket, "awaiting_parts" if waiting else "in_repair",
                       note=f"estimate approved ({via})")
        else:
            transition(session, actor, ticket, "on_hold", reason="customer_decision",
                       note=f"estimate declined ({via})")
    return est


# ---------------------------------------------------------------- charges and pickup

def _open_work(session: Session, ticket: Ticket, unit_ids: set[int] | None,
               final: bool) -> tuple[list[Part], list[Labor]]:
    """Parts and labour not yet charged, for the units being released (plus work on
    no particular unit when this release is the last)."""
    def mine(unit_id: int | None) -> bool:
        return unit_ids is None or unit_id in unit_ids or (unit_id is None and final)
    parts = [p for p in session.scalars(select(Part).where(
        Part.ticket_id == ticket.id, Part.pickup_id.is_(None), Part.status != "released")
        .order_by(Part.id)) if mine(p.unit_id)]
    labor = [lab for lab in session.scalars(select(Labor).where(
        Labor.ticket_id == ticket.id, Labor.pickup_id.is_(None)).order_by(Labor.id))
        if mine(lab.unit_id)]
    return parts, labor


def _deposit_left(session: Session, ticket: Ticket) -> Decimal:
    used = session.scalar(select(func.coalesce(func.sum(Pickup.deposit_applied), 0))
                          .where(Pickup.ticket_id == ticket.id)) or 0
    return to_money(ticket.deposit - Decimal(used))


def _deposit_to_apply(session: Session, ticket: Ticket, final: bool, work_total: Decimal) -> Decimal:
    """What is left of the deposit goes against the work released: all of it with the
    last unit, at most the work (tax included) with an earlier one."""
    left = _deposit_left(session, ticket)
    return left if final else min(left, work_total)


def _prices_include_tax(session: Session) -> bool:
    return bool(get_setting("core", "prices_include_tax", session))


def _charged(session: Session, lines: Sequence[ChargeLine]) -> list[LineAmounts]:
    """Each of ``lines`` as the till charges it, by the shop's tax setting."""
    include = _prices_include_tax(session)
    return [pricing.charged(ln, prices_include_tax=include) for ln in lines]


def _charge_lines(session: Session, parts: Sequence[Part], labor: Sequence[Labor]) -> list[ChargeLine]:
    """The till's lines at list price; ``covered`` ones the till prices at zero
    (``core.ChargeLine``), keeping the list price for the receipt."""
    labour_tax = Decimal(get_setting("repairs", "labour_tax_rate", session))
    lines = [ChargeLine(description=p.description, quantity=Decimal(p.quantity),
                        unit_price=p.unit_price, tax_rate=Decimal(p.tax_rate),
                        kind="part", product_id=p.product_id, serial=p.serial,
                        reservation_id=p.reservation_id if p.status == "reserved" else None,
                        covered=p.covered)
             for p in parts]
    lines += [ChargeLine(description=f"Labour: {lab.description} ({lab.minutes} min)",
                         quantity=Decimal("1"), unit_price=lab.list_amount, tax_rate=labour_tax,
                         kind="labor", covered=lab.covered)
              for lab in labor]
    return lines


def pickup_quote(session: Session, ticket: Ticket, unit_ids: set[int] | None = None) -> pricing.Quote:
    """What checking out ``unit_ids`` (None: every unit still here) charges: the
    work not yet charged, each line as the till charges it, and what is left of the
    deposit — all of it with the last unit (more than the work: paid back), at most
    the work (tax included) with an earlier one."""
    return _open_quote(session, ticket, ticket_units(session, ticket), unit_ids)[0]


def _open_quote(session: Session, ticket: Ticket, units: Sequence[TicketUnit],
                unit_ids: set[int] | None) -> tuple[pricing.Quote, list[Part], list[Labor], bool]:
    """:func:`pickup_quote` with the parts and labour it charges and whether it
    releases the last units (``units``: the ticket's)."""
    remaining = {u.id for u in units if u.released_at is None}
    final = unit_ids is None or remaining <= unit_ids
    parts, labor = _open_work(session, ticket, unit_ids, final)
    lines = _charge_lines(session, parts, labor)
    amounts = _charged(session, lines)
    work = sum_lines(amounts)
    deposit = _deposit_to_apply(session, ticket, final, work.total)
    charges = TicketCharges(ticket_id=ticket.id, number=ticket.number,
                            customer_id=ticket.customer_id, lines=tuple(lines), deposit=deposit)
    quote = pricing.Quote(charges=charges, amounts=tuple(amounts), work=work,
                          prices_include_tax=_prices_include_tax(session))
    return quote, parts, labor, final


def ticket_charges(session: Session, ticket: Ticket, unit_ids: set[int] | None = None) -> TicketCharges:
    """What releasing ``unit_ids`` (None: every unit still here) charges, less what is
    left of the deposit (see :func:`pickup_quote`)."""
    return pickup_quote(session, ticket, unit_ids).charges


def awaits_pickup(session: Session, ticket: Ticket) -> bool:
    """Whether units of ``ticket`` wait at the shop to be handed back: it is ready, or
    it was cancelled with units still here (the customer collects them unrepaired)."""
    if ticket.status == "ready":
        return True
    return ticket.status == "cancelled" and any(
        u.released_at is None for u in ticket_units(session, ticket))


def _not_for_pickup(ticket: Ticket) -> Conflict:
    state = "cancelled and handed back" if ticket.status == "cancelled" else ticket.status
    return Conflict(f"Ticket {ticket.number} is {state}, not ready for pickup.",
                    code="ticket_not_ready")


def resolve_charges(session: Session, ticket_id: int) -> TicketCharges | None:
    """For the till (``resolve_ticket_charges``): None unless units of the ticket
    wait to be handed back (:func:`awaits_pickup`)."""
    ticket = session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None or not awaits_pickup(session, ticket):
        return None
    return ticket_charges(session, ticket)


def checkout(session: Session, actor: Any, ticket: Ticket, data: dict[str, Any]) -> Pickup:
    """Hand units back. With ``pos_session_id`` the charges (less the deposit) are rung
    up on the till through ``ring_up``; otherwise (or when pos is disabled) the pickup
    and the payment reference are recorded here. Nothing to charge (no work left, no
    deposit) needs no sale: the pickup is recorded here, nothing paid (payment method
    ``none``). A ready ticket is ``collected`` once its last unit is released.

    A cancelled ticket's units are handed back the same way, unrepaired: its parts
    went back to stock when it was cancelled, so the pickup charges the labour
    recorded before (the diagnosis the drop-off terms say is due) and pays back what
    is left of the deposit; the ticket stays ``cancelled`` (see :func:`_record_pickup`)."""
    if not awaits_pickup(session, ticket):
        raise _not_for_pickup(ticket)
    units = ticket_units(session, ticket)
    remaining = {u.id for u in units if u.released_at is None}
    wanted = set(data.get("unit_ids") or remaining)
    if not wanted <= remaining:
        raise Invalid("Those units are not waiting on this ticket.",
                      fields={"unit_ids": [f"Waiting: {sorted(remaining)}."]})
    missing = session.scalar(select(func.count()).select_from(Part).where(
        Part.ticket_id == ticket.id, Part.status == "to_order", Part.pickup_id.is_(None),
        or_(Part.unit_id.in_(wanted), Part.unit_id.is_(None))))
    if missing:
        raise Conflict("A part is still on order for this ticket.", code="parts_on_order")
    owed = pickup_quote(session, ticket, wanted)
    deposit, due = owed.deposit, owed.due
    if owed.nothing_to_charge:
        # no money and no goods change hands: the till has nothing to ring up (a sale
        # needs a line) and its drawer nothing to count
        if any(to_money(p["amount"]) != 0 for p in data.get("payments") or []):
            raise Invalid("There is nothing to pay on this pickup.", code="nothing_to_pay",
                          fields={"payments": ["Nothing is due."]})
        return _record_pickup(session, actor, ticket, wanted, sale=None, method="none",
                              reference=(data.get("payment_reference") or "").strip())
    sale = None
    if data.get("pos_session_id") is not None:
        # the deposit line as the pickup applies it: on the last unit all that is left,
        # so a deposit larger than the work makes the sale's total negative and the
        # till pays the difference back as change
        lines = list(owed.charges.lines)
        if deposit > 0:
            lines.append(ChargeLine(description=f"Deposit paid ({ticket.number})",
                                    quantity=Decimal("1"), unit_price=-deposit, kind="deposit"))
        payments = [(p["method"], to_money(p["amount"])) for p in data.get("payments") or []]
        if not payments and due > 0:
            payments = [(data.get("payment_method") or "cash", due)]
        session.info["repairs_checkout"] = {"ticket_id": ticket.id, "unit_ids": wanted}
        try:
            sale = _hook().ring_up(session=session, actor=actor,
                                   pos_session_id=data["pos_session_id"],
                                   customer_id=ticket.customer_id, lines=lines, payments=payments,
                                   ticket_id=ticket.id, note=f"repair {ticket.number}")
        finally:
            session.info.pop("repairs_checkout", None)
        if isinstance(sale, SaleInfo):
            done = session.scalar(select(Pickup).where(Pickup.ticket_id == ticket.id,
                                                       Pickup.sale_id == sale.id))
            if done is not None:       # pos told us through sale_completed
                return done
    method = data.get("payment_method") or ("till" if sale else "cash")
    reference = (data.get("payment_reference") or "").strip()
    if sale is None and due > 0 and not reference and method != "cash":
        raise Invalid("Record how the customer paid.",
                      fields={"payment_reference": ["Required unless paid in cash."]})
    return _record_pickup(session, actor, ticket, wanted, sale=sale if isinstance(sale, SaleInfo) else None,
                          method=method, reference=reference)


def _record_pickup(session: Session, actor: Any, ticket: Ticket, unit_ids: set[int], *,
                   sale: SaleInfo | None, method: str, reference: str) -> Pickup:
    """The pickup of ``unit_ids``: with a till sale, its figures are what the sale
    charged for the ticket; without one, the same figures by the till's rule."""
    units = ticket_units(session, ticket)
    quote, parts, labor, final = _open_quote(session, ticket, units, unit_ids)
    lines = list(quote.charges.lines)
    if sale is not None:
        amounts = pricing.sale_line_amounts(sale, lines,
                                            prices_include_tax=quote.prices_include_tax)
        work, deposit = sum_lines(amounts), pricing.sale_deposit(sale)
    else:
        amounts, work, deposit = list(quote.amounts), quote.work, quote.deposit
    now = utcnow()
    pickup = Pickup(ticket_id=ticket.id, at=now, actor_id=actor.id if actor else None,
                    total=work.subtotal, tax=work.tax, deposit_applied=deposit,
                    amount_due=work.total - deposit,
                    payment_method=method, payment_reference=reference or (sale.number if sale else ""),
                    sale_id=sale.id if sale else None, sale_number=sale.number if sale else "")
    session.add(pickup)
    session.flush()
    for p in parts:
        p.pickup_id = pickup.id
        if p.status == "reserved" and p.reservation_id is not None:
            state = records.reservation_status(session, p.reservation_id)
            if state == "active" and sale is None:
                consume_reservation(session, actor, p.reservation_id,
                                    reason=f"used on repair {ticket.number}",
                                    serials=[p.serial] if p.serial else None)
            p.status = "consumed"
    for lab in labor:
        lab.pickup_id = pickup.id
    for u in units:
        if u.id in unit_ids:
            u.released_at, u.pickup_id = now, pickup.id
    # revenue is the work before tax, as charged (covered work: nothing)
    labor_revenue, parts_revenue = pricing.revenue(lines, amounts)
    month = ticket.completed_month or _month(now)
    _rollup(session, ticket.technician_id, month, ticket.product_kind,
            labor_revenue=labor_revenue, parts_revenue=parts_revenue)
    audit.record(session, "repairs.ticket.pickup", actor=actor, record_type="ticket",
                 record_id=ticket.id, after={"pickup_id": pickup.id, "units": sorted(unit_ids),
                                             "total": str(pickup.total), "tax": str(pickup.tax),
                                             "deposit_applied": str(deposit),
                                             "amount_due": str(pickup.amount_due),
                                             "method": method, "reference": pickup.payment_reference,
                                             "sale_id": pickup.sale_id})
    if final:
        ticket.collected_at = now
        # a cancelled ticket stays cancelled: "collected" is a repair handed back (the
        # comeback window counts from it), and the status page keeps telling the
        # customer it was cancelled; its units' release and the pickup say the rest
        if ticket.status == "ready":
            transition(session, actor, ticket, "collected", note="picked up", _system=True)
    session.flush()
    return pickup


def consume_after_sale(session: Session, actor: Any, pickup: Pickup) -> None:
    """After the till's sale: reservations it did not consume are consumed here."""
    ticket = session.get(Ticket, pickup.ticket_id)
    for p in session.scalars(select(Part).where(Part.pickup_id == pickup.id,
                                                Part.reservation_id.is_not(None))):
        if records.reservation_status(session, p.reservation_id) == "active":
            consume_reservation(session, actor, p.reservation_id,
                                reason=f"used on repair {ticket.number}",
                                serials=[p.serial] if p.serial else None)


def sale_completed(session: Session, sale: SaleInfo, actor: Any) -> None:
    """The till sold a ticket's work (``sale.ticket_id``): record the pickup. A sale
    taking the deposit alone is noted on the ticket. (A pickup with no work left to
    charge sells only the deposit back, a negative line: that is a pickup — of a
    cancelled ticket's units too.)"""
    if sale.ticket_id is None or sale.kind != "sale":
        return
    ticket = session.get(Ticket, sale.ticket_id)
    if ticket is None:
        return
    if sale.lines and all(line.kind == "deposit" and line.total > 0 for line in sale.lines):
        if ticket.deposit_sale_id is None:
            ticket.deposit_sale_id = sale.id
        return
    if not awaits_pickup(session, ticket):
        raise _not_for_pickup(ticket)
    context = session.info.get("repairs_checkout") or {}
    if context.get("ticket_id") == ticket.id:
        unit_ids = set(context["unit_ids"])
    else:
        unit_ids = {u.id for u in ticket_units(session, ticket) if u.released_at is None}
    _record_pickup(session, actor, ticket, unit_ids, sale=sale, method="till", reference=sale.number)


# ---------------------------------------------------------------- customer's view

class TooManyGuesses(DomainError):
    """Too many wrong status links; wait and try again."""
    status = 429
    code = "too_many_requests"


def check_public_throttle(session: Session, ip: str, number: str, *, window: int = 900,
                          max_ip: int = 20, max_number: int = 10) -> None:
    since = utcnow() - dt.timedelta(seconds=window)
    base = select(func.count()).select_from(PublicAttempt).where(
        PublicAttempt.at >= since, PublicAttempt.success.is_(False))
    if session.scalar(base.where(PublicAttempt.ip == ip)) >= max_ip or \
            session.scalar(base.where(PublicAttempt.number == number)) >= max_number:
        raise TooManyGuesses("Too many wrong status links. Wait a few minutes and try again.",
                             headers={"Retry-After": str(window)})


def record_public_failure(session: Session, ip: str, number: str) -> None:
    session.add(PublicAttempt(ip=ip[:64], number=number[:40], success=False, at=utcnow()))


def ticket_for_link(session: Session, number: str, token: str | None) -> Ticket | None:
    """The ticket whose number and secret token both match, else None (the caller
    answers 404 for either mistake). Compared in constant time."""
    normal = parse_number(number)
    ticket = session.scalar(select(Ticket).where(Ticket.number == normal)) if normal else None
    expected = ticket.status_token if ticket else "x" * 24
    if not hmac.compare_digest(expected.encode(), (token or "").encode()[:200]):
        return None
    return ticket


def public_view(session: Session, ticket: Ticket) -> dict[str, Any]:
    """What the customer sees: nothing personal beyond the ticket's own progress."""
    notes = session.scalars(select(Note).where(Note.ticket_id == ticket.id,
                                               Note.visibility == "customer").order_by(Note.at))
    est = pending_estimate(session, ticket) if ticket.status == "awaiting_approval" else None
    words = STATUS_WORDS[ticket.status]
    if ticket.status == "on_hold" and ticket.hold_reason:
        words = f"Your repair is on hold: {HOLD_WORDS[ticket.hold_reason]}."
    return {
        "number": ticket.number, "status": ticket.status, "label": STATUS_LABELS[ticket.status],
        "description": words, "updated": ticket.status_changed_at,
        "promised_for": ticket.promised_for,
        "notes": [{"at": n.at, "body": n.body} for n in notes],
        "estimate": None if est is None else {
            "id": est.id, "amount": est.amount, "tax": est.tax, "total": est.total,
            "prices_include_tax": est.prices_include_tax, "summary": est.summary,
            "parts": est.parts_amount, "labor": est.labor_amount, "note": est.note,
            "requested_at": est.requested_at},
    }


# ---------------------------------------------------------------- receipt

def receipt_document(session: Session, ticket: Ticket) -> ReceiptDocument:
    """The drop-off receipt: it ties the customer to the unit."""
    customer = records.customer(session, ticket.customer_id)
    url = status_url(session, ticket)
    shop = [get_setting("core", "shop_name", session)]
    shop += [ln for ln in (get_setting("core", "shop_address", session) or "").splitlines() if ln]
    if get_setting("core", "shop_phone", session):
        shop.append(get_setting("core", "shop_phone", session))
    opened = ticket.opened_at
    info = [("Ticket", ticket.number), ("Received", opened.strftime("%Y-%m-%d %H:%M")),
            ("Customer", customer.name if customer else "")]
    if customer is not None and customer.phone:
        info.append(("Phone", customer.phone))
    if ticket.promised_for:
        info.append(("Promised for", ticket.promised_for.isoformat()))
    if ticket.rush:
        info.append(("Rush", "yes"))
    lines = [ReceiptLine(description=u.description or "Unit", quantity="1", amount="",
                         detail=f"Serial: {u.serial}" if u.serial else "")
             for u in ticket_units(session, ticket)]
    sections = [ReceiptSection("Problem", (ticket.problem,))]
    if ticket.accessories:
        sections.append(ReceiptSection("Accessories left", (ticket.accessories,)))
    if ticket.condition:
        sections.append(ReceiptSection("Condition", (ticket.condition,)))
    approved = approved_estimate(session, ticket)
    totals = []
    if approved is not None:
        totals.append(("Estimate", approved.summary))
    if ticket.deposit > 0:
        totals.append(("Deposit paid", f"{ticket.deposit:.2f}"))
        if ticket.deposit_reference:
            info.append(("Deposit ref.", ticket.deposit_reference))
    terms = get_setting("repairs", "receipt_terms", session) or ""
    if terms:
        sections.append(ReceiptSection("Terms", tuple(ln for ln in terms.splitlines() if ln.strip())))
    sections.append(ReceiptSection("Follow your repair", (url,)))
    return ReceiptDocument(header=tuple(s for s in shop if s), title="Repair drop-off receipt",
                           info=tuple(info), lines=tuple(lines), totals=tuple(totals),
                           sections=tuple(sections), barcode=ticket.number, qr=url,
                           footer=("Keep this receipt: bring it to collect your item.",))


def print_receipt(session: Session, actor: Any, ticket: Ticket, printer_id: int | None) -> int | None:
    """The receipt through ``print_document`` (devices); None: nothing prints."""
    return _hook().print_document(session=session, document=receipt_document(session, ticket),
                                  printer_id=printer_id, actor=actor)


# ---------------------------------------------------------------- search and lists

# The ticket search index (migrations rp0001 and rp0003). SQLite: the FTS5 table
# ``repairs_ticket_fts`` (prefix indexes 1-12, detail=none) kept by triggers; its
# rowid order is the ticket id, so newest first is native. PostgreSQL: a GIN index
# on PG_LEXEMES (textually equal to rp0003's LEXEMES), which holds each word, every
# prefix of a word up to PG_PREFIX_MAX characters and two recency buckets of the id,
# and the function repairs_ticket_search_newest(tsquery, lim) that reads it.
FTS_TABLE = "repairs_ticket_fts"
PG_LEXEMES = "repairs_ticket_search_lexemes(customer_name, units_text, problem, id)"
PG_PREFIX_MAX = 12
MAX_WORDS = 8
_TOKENS = re.compile(r"[^\W_]+")   # a word as both indexes split it ('_' separates)
_PHONEISH = re.compile(r"^\+?[\d\s().\-/]{3,}$")


@dataclass(frozen=True)
class _Search:
    """What a search box query asks for: each field is one kind of look-up."""
    number: str | None      # a ticket number (exact, and then alone)
    phone: str | None       # digits a customer's phone starts with
    serial: str             # the query as a unit serial (normalised by records)
    words: tuple[str, ...]  # words of the name, units and problem, each a prefix


def _parse_search(q: str) -> _Search:
    q = q.strip()
    digits = re.sub(r"\D", "", q)
    long_digits = q.isdigit() and len(q) >= 7     # a phone number, not a ticket number
    number = parse_number(q) if (q.upper().startswith("R") or q.isdigit()) and not long_digits else None
    phone = digits if digits and len(digits) >= 3 and _PHONEISH.match(q) else None
    words = () if digits == q and len(digits) >= 7 else \
        tuple(t.lower() for t in _TOKENS.findall(q))[:MAX_WORDS]
    return _Search(number=number, phone=phone, serial=q, words=words)


def _pg_tsquery(words: Sequence[str]) -> str:
    """Each word AND-ed: up to PG_PREFIX_MAX characters an exact lexeme of the index
    (which holds the prefixes), longer a prefix of whole words."""
    return " & ".join(f"'{w}'" if len(w) <= PG_PREFIX_MAX else f"'{w}':*" for w in words)


def _words_condition(dialect: str, words: Sequence[str]) -> Any:
    """Tickets whose customer name, units or problem hold each word as a prefix (for
    ``GET /repairs/tickets?q=``; the search box uses ``_with_words``)."""
    if dialect == "sqlite":
        return Ticket.id.in_(text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :m")
                             .bindparams(m=fts5_prefix_match(words)).columns(column("rowid")))
    # Only the GIN index may answer (computing the lexemes of a row costs ~40 µs): with
    # the query in a subquery, no estimate makes a row-by-row plan look cheap (one took
    # 35 s for a rare word here).
    return text(f"{PG_LEXEMES} @@ (SELECT to_tsquery('simple'::regconfig, :tsq))").bindparams(
        tsq=_pg_tsquery(words))


def search_condition(session: Session, q: str) -> tuple[Any, bool]:
    """``(condition on Ticket, exact)`` for ``GET /repairs/tickets?q=``: a ticket number
    is exact (and alone); otherwise any of the customer's phone (B-tree on the kernel's
    ``phone_digits``), a unit's serial (``items.serial_norm``), and the words of the
    customer's name, the units (product, description, serial) and the problem. Phone
    and serial become lists of ids first: conditions on the ticket's own indexes,
    which PostgreSQL ORs as bitmaps with the words' GIN index (an ``OR`` of ``IN``
    subqueries made it filter every ticket by hashed subplans: 0.7 s over a million)."""
    parsed = _parse_search(q)
    if parsed.number is not None:
        exact = session.scalar(_BY_NUMBER, {"number": parsed.number})
        if exact is not None:
            return Ticket.id == exact, True
    conds: list[Any] = []
    if parsed.phone:
        customer_ids = records.customer_ids_by_phone(session, parsed.phone)
        if customer_ids:
            conds.append(Ticket.customer_id.in_(customer_ids))
    item_ids = records.item_ids_by_serial(session, parsed.serial)
    if item_ids:
        conds.append(Ticket.id.in_(list(session.scalars(
            select(TicketUnit.ticket_id).where(TicketUnit.item_id.in_(item_ids))))))
    if parsed.words:
        conds.append(_words_condition(session.get_bind().dialect.name, parsed.words))
    return (or_(*conds) if conds else Ticket.id.is_(None)), False


def list_tickets_stmt(session: Session, args: dict[str, Any]) -> Any:
    stmt = select(Ticket)
    if args.get("q"):
        cond, _exact = search_condition(session, args["q"])
        stmt = stmt.where(cond)
    if args.get("status"):
        stmt = stmt.where(Ticket.status.in_(args["status"]))
    if args.get("technician_id") is not None:
        stmt = stmt.where(Ticket.technician_id == args["technician_id"])
    if args.get("customer_id") is not None:
        stmt = stmt.where(Ticket.customer_id == args["customer_id"])
    if args.get("q") and session.get_bind().dialect.name == "postgresql":
        # Newest first, by sorting the matches: walking the primary key backwards until
        # a page is full is what the planner guesses cheapest, and when few tickets
        # match it walks them all (0.7 s over a million).
        return stmt.order_by((Ticket.id + 0).desc())
    return stmt.order_by(Ticket.id.desc())


# ---- the search box's hot path: prebuilt statements, each returning what a result shows

_FOUND = (Ticket.id, Ticket.number, Ticket.customer_name, Ticket.status, Ticket.units_text)
_FOUND_SQL = "id, number, customer_name, status, units_text"
_BY_NUMBER = select(*_FOUND).where(Ticket.number == bindparam("number"))


def _in_ids(col: Any, ids: Any, dialect: str) -> Any:
    """``col IN (ids)``; on PostgreSQL as ``= ANY`` of an array the subquery makes, so
    each look-up is planned on its own (a request plans every statement again there:
    a join of tickets, units and items took 0.5 ms to plan, this 0.15 ms)."""
    if dialect == "sqlite":
        return col.in_(ids)
    array = select(func.array_agg(ids.subquery().c[0])).scalar_subquery()
    return col == any_(cast(array, ARRAY(BigInteger)))


def _of_customers(dialect: str) -> Any:
    """The newest tickets of the customers a phone starts with."""
    return (select(*_FOUND).where(_in_ids(Ticket.customer_id, records.CUSTOMER_IDS_BY_PHONE, dialect))
            .order_by(Ticket.id.desc()).limit(bindparam("lim")))


def _of_serial(dialect: str) -> Any:
    """The newest tickets of the units with a serial."""
    units = select(TicketUnit.ticket_id).where(
        _in_ids(TicketUnit.item_id, records.ITEM_IDS_BY_SERIAL, dialect))
    return (select(*_FOUND).where(_in_ids(Ticket.id, units, dialect))
            .order_by(Ticket.id.desc()).limit(bindparam("lim")))


def _with_words(dialect: str) -> Any:
    """The newest tickets with the words (``:m`` on SQLite, ``:tsq`` on PostgreSQL)."""
    if dialect == "sqlite":   # FTS5 gives its matches in rowid (ticket id) order
        return text(f"SELECT {_FOUND_SQL} FROM repairs_ticket WHERE id IN (SELECT rowid FROM "
                    f"{FTS_TABLE} WHERE {FTS_TABLE} MATCH :m ORDER BY rowid DESC LIMIT :lim) "
                    "ORDER BY id DESC").columns(*_FOUND)
    # by recency tiers of the GIN index (migration rp0003)
    return text(f"SELECT {_FOUND_SQL} FROM repairs_ticket_search_newest("
                "to_tsquery('simple'::regconfig, :tsq), :lim)").columns(*_FOUND)


_LOOKUPS: dict[tuple[str, bool, bool, bool], Any] = {}


def _lookups_stmt(dialect: str, phone: bool, serial: bool, words: bool) -> Any:
    """The look-ups of one search as one statement (one round trip): the tickets of
    the customers a phone starts with, of the units with a serial, and with the words,
    each newest first and at most ``:lim``."""
    key = (dialect, phone, serial, words)
    if key not in _LOOKUPS:
        parts = [make(dialect) for make, wanted in ((_of_customers, phone), (_of_serial, serial),
                                                    (_with_words, words)) if wanted]
        subqueries = [p.subquery(f"lookup{i}") for i, p in enumerate(parts)]
        _LOOKUPS[key] = parts[0] if len(parts) == 1 else \
            union_all(*(select(*sq.c) for sq in subqueries))
    return _LOOKUPS[key]


def search_tickets(session: Session, q: str, limit: int = 20) -> list[tuple[Any, bool]]:
    """The search box's hot path: ``(row, exact)`` for up to ``limit`` tickets, newest
    first; a row has ``id, number, customer_name, status, units_text``. An existing
    ticket number is exact and alone (one look-up); otherwise every look-up runs in
    one statement."""
    parsed = _parse_search(q)
    if parsed.number is not None:
        row = session.execute(_BY_NUMBER, {"number": parsed.number}).first()
        if row is not None:
            return [(row, True)]
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {"lim": limit, "serial_norm": records.serial_key(parsed.serial)}
    phone = records.phone_range(parsed.phone) if parsed.phone else None
    if phone:
        params.update(phone)
    if parsed.words:
        params.update({"m": fts5_prefix_match(parsed.words)} if dialect == "sqlite"
                      else {"tsq": _pg_tsquery(parsed.words)})
    if not (phone or params["serial_norm"] or parsed.words):
        return []
    stmt = _lookups_stmt(dialect, bool(phone), bool(params["serial_norm"]), bool(parsed.words))
    found = {r.id: r for r in session.execute(stmt, params)}
    return [(found[i], False) for i in sorted(found, reverse=True)[:limit]]


def technician_queue(session: Session, technician_id: int | None) -> list[Ticket]:
    """Open work for a technician: rush first, then priority, then promised date
    (undated last), then oldest."""
    working = tuple(s for s in OPEN_STATUSES if s != "ready")
    stmt = select(Ticket).where(Ticket.status.in_(working))
    stmt = stmt.where(Ticket.technician_id == technician_id) if technician_id is not None \
        else stmt.where(Ticket.technician_id.is_(None))
    return list(session.scalars(stmt.order_by(
        Ticket.rush.desc(), Ticket.priority.desc(),
        case((Ticket.promised_for.is_(None), 1), else_=0), Ticket.promised_for,
        Ticket.opened_at).limit(500)))


def board(session: Session) -> dict[str, list[Ticket]]:
    """The open tickets by status, then the cancelled ones whose units still wait at the
    shop to be handed back (with what is left of their deposit: :func:`checkout`)."""
    out: dict[str, list[Ticket]] = {s: [] for s in OPEN_STATUSES}
    for t in session.scalars(select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
                             .order_by(Ticket.rush.desc(), Ticket.opened_at).limit(1000)):
        out[t.status].append(t)
    waiting = select(TicketUnit.id).where(TicketUnit.ticket_id == Ticket.id,
                                          TicketUnit.released_at.is_(None)).exists()
    out["cancelled"] = list(session.scalars(
        select(Ticket).where(Ticket.status == "cancelled", waiting)
        .order_by(Ticket.status_changed_at).limit(1000)))
    return out


# ---------------------------------------------------------------- history

def timeline(session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    """Everything that happened to the ticket, oldest first (for the ticket page)."""
    events: list[dict[str, Any]] = []
    for c in session.scalars(select(StatusChange).where(StatusChange.ticket_id == ticket.id)):
        title = f"{(c.from_status or 'new').replace('_', ' ')} → {c.to_status.replace('_', ' ')}"
        if c.reason:
            title += f" ({c.reason.replace('_', ' ')})"
        events.append({"at": c.at, "kind": "status", "title": title, "detail": c.note,
                       "actor_id": c.actor_id})
    for n in session.scalars(select(Note).where(Note.ticket_id == ticket.id)):
        events.append({"at": n.at, "kind": f"note_{n.visibility}", "title": f"Note ({n.visibility})",
                       "detail": n.body, "actor_id": n.author_id})
    for lab in session.scalars(select(Labor).where(Labor.ticket_id == ticket.id)):
        events.append({"at": lab.at, "kind": "labor", "title": f"Labour {lab.minutes} min",
                       "detail": lab.description, "actor_id": lab.technician_id})
    for p in session.scalars(select(Part).where(Part.ticket_id == ticket.id)):
        events.append({"at": p.at, "kind": "part", "title": f"Part {p.quantity} × {p.description}",
                       "detail": p.status, "actor_id": p.added_by_id})
    for e in session.scalars(select(Estimate).where(Estimate.ticket_id == ticket.id)):
        events.append({"at": e.requested_at, "kind": "estimate", "title": f"Estimate {e.summary}",
                       "detail": e.status + (f" via {e.decided_via}" if e.decided_via else ""),
                       "actor_id": e.requested_by_id})
    for pk in session.scalars(select(Pickup).where(Pickup.ticket_id == ticket.id)):
        owed = f"{pk.amount_due} due" if pk.amount_due >= 0 else f"{-pk.amount_due} paid back"
        events.append({"at": pk.at, "kind": "pickup", "title": f"Picked up, {owed}",
                       "detail": pk.payment_reference, "actor_id": pk.actor_id})
    names = records.user_names(session, {e["actor_id"] for e in events if e["actor_id"]})
    for e in events:
        e["who"] = names.get(e["actor_id"], "")
        if e["at"].tzinfo is None:
            e["at"] = e["at"].replace(tzinfo=dt.timezone.utc)
    events.sort(key=lambda e: e["at"])
    return events


def tickets_of_item(session: Session, item_id: int) -> list[Ticket]:
    return list(session.scalars(select(Ticket).join(TicketUnit, TicketUnit.ticket_id == Ticket.id)
                                .where(TicketUnit.item_id == item_id).order_by(Ticket.id.desc())
                                .limit(200)))


def tickets_of_customer(session: Session, customer_id: int) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.customer_id == customer_id)
                                .order_by(Ticket.id.desc()).limit(200)))


# A ticket keeps its customer's name for the search index (the FTS5 triggers of rp0001
# and the GIN index of rp0003 follow an UPDATE of the column): one statement each.

def rename_customer(session: Session, customer_id: int, name: str) -> None:
    """The customer's new name on their tickets (``customer_updated``)."""
    session.execute(update(Ticket).where(Ticket.customer_id == customer_id,
                                         Ticket.customer_name != name)
                    .values(customer_name=name))


def merge_customer(session: Session, into_id: int, merged_id: int, into_name: str) -> None:
    """The merged customer's tickets move to ``into``, with its name (``customer_merged``)."""
    session.execute(update(Ticket).where(Ticket.customer_id == merged_id)
                    .values(customer_id=into_id, customer_name=into_name))
