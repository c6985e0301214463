"""marshmallow schemas of the repairs API (they also feed the OpenAPI document).

Money is a string with two decimals in and out (``"19.99"``). Text refuses control
characters (PostgreSQL refuses NUL); tabs and newlines are fine.
"""
from __future__ import annotations

import re
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from marshmallow import (EXCLUDE, Schema, ValidationError, fields, pre_dump, validate,
                         validates_schema)
from sqlalchemy.orm import object_session

from core import MoneyField

from plugins.repairs.models import (APPROVAL_CHANNELS, HOLD_REASONS, NOTE_VISIBILITY, STATUSES)

ID = validate.Range(min=1, max=2**62)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control(value: str) -> None:
    if _CONTROL.search(value or ""):
        raise ValidationError("Control characters are not allowed.")


def Text(max_len: int, *, required: bool = False, min_len: int = 0, **kw: Any) -> fields.String:
    return fields.String(required=required, validate=[validate.Length(min=min_len, max=max_len),
                                                      _no_control], **kw)


def Id(**kw: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=ID, **kw)


class UnitIn(Schema):
    item_id = Id(allow_none=True)
    product_id = Id(allow_none=True)
    serial = Text(100, allow_none=True)
    item_description = Text(300, allow_none=True)


class DepositIn(Schema):
    amount = MoneyField(required=True)
    method = Text(30, load_default="cash")
    reference = Text(120, load_default="")
    pos_session_id = Id(allow_none=True, metadata={
        "description": "An open till shift: the deposit is rung up there (pos enabled)."})


class TicketCreate(Schema):
    customer_id = Id(required=True)
    item_id = Id(allow_none=True)
    product_id = Id(allow_none=True)
    serial = Text(100, allow_none=True)
    item_description = Text(300, allow_none=True)
    units = fields.List(fields.Nested(UnitIn), validate=validate.Length(max=20), metadata={
        "description": "More units on the same ticket (each like the top-level unit fields)."})
    problem = Text(5000, required=True, min_len=1)
    instructions = Text(5000)
    rush = fields.Boolean()
    priority = fields.Integer(strict=True, validate=validate.Range(min=0, max=3))
    accessories = Text(2000)
    condition = Text(2000)
    promised_for = fields.Date(allow_none=True)
    estimate = MoneyField(allow_none=True, metadata={"description": "What the customer agreed to "
                                                "at the counter (work beyond it asks again)."})
    deposit = fields.Nested(DepositIn, allow_none=True)
    technician_id = Id(allow_none=True)

    @validates_schema
    def _problem_not_blank(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("problem") or "").strip():
            raise ValidationError("Describe the problem.", field_name="problem")


class TicketUpdate(Schema):
    problem = Text(5000, min_len=1)
    instructions = Text(5000)
    rush = fields.Boolean()
    priority = fields.Integer(strict=True, validate=validate.Range(min=0, max=3))
    accessories = Text(2000)
    condition = Text(2000)
    promised_for = fields.Date(allow_none=True)


class TicketListArgs(Schema):
    class Meta:
        unknown = EXCLUDE
    q = Text(200, load_default=None, allow_none=True)
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)), load_default=None)
    technician_id = fields.Integer(load_default=None, validate=ID)
    customer_id = fields.Integer(load_default=None, validate=ID)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TransitionIn(Schema):
    to = fields.String(required=True, validate=validate.OneOf(STATUSES))
    note = Text(2000, load_default="")
    reason = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(HOLD_REASONS),
                           metadata={"description": "Required for on_hold."})


class AssignIn(Schema):
    technician_id = Id(required=True, allow_none=True)


class NoteIn(Schema):
    body = Text(5000, required=True, min_len=1)
    visibility = fields.String(load_default="internal", validate=validate.OneOf(NOTE_VISIBILITY))


class LaborIn(Schema):
    technician_id = Id(allow_none=True)
    unit_id = Id(allow_none=True)
    minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000))
    description = Text(300, required=True, min_len=1)


class PartIn(Schema):
    product_id = Id(required=True)
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=10_000))
    serial = Text(100, allow_none=True)
    unit_id = Id(allow_none=True)
    location_id = Id(allow_none=True)
    unit_price = MoneyField(allow_none=True, metadata={"description": "Default: the product's price."})


class EstimateIn(Schema):
    amount = MoneyField(allow_none=True, metadata={
        "description": "Default: parts and labour recorded. In the shop's prices: before tax, "
                       "or with the tax inside when the core setting prices_include_tax is on."})
    tax_rate = MoneyField(places=3, maximum=Decimal("100"), allow_none=True, metadata={
        "description": "The tax on a quoted amount, a percentage (8.25 means 8.25 %). Default: "
                       "the rate the work recorded so far comes to, or with none the labour "
                       "tax rate. Only with amount (the work recorded is taxed line by line)."})
    note = Text(2000, load_default="")

    @validates_schema
    def _rate_with_amount(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("tax_rate") is not None and data.get("amount") is None:
            raise ValidationError("Only with an amount.", field_name="tax_rate")


class ApprovalIn(Schema):
    approved = fields.Boolean(required=True)
    via = fields.String(required=True, validate=validate.OneOf(
        tuple(c for c in APPROVAL_CHANNELS if c != "status_link")),
        metadata={"description": "How the customer agreed: in_person, phone, email, sms, drop_off."})
    note = Text(2000, load_default="")


class PaymentIn(Schema):
    method = Text(30, required=True, min_len=1)
    amount = MoneyField(required=True)


class CheckoutIn(Schema):
    unit_ids = fields.List(Id(), validate=validate.Length(max=20), metadata={
        "description": "Units released now (default: all still here)."})
    pos_session_id = Id(allow_none=True)
    payments = fields.List(fields.Nested(PaymentIn), validate=validate.Length(max=10))
    payment_method = Text(30, load_default="")
    payment_reference = Text(120, load_default="")


class PrintIn(Schema):
    printer_id = Id(allow_none=True, load_default=None)


class ReceiptArgs(Schema):
    class Meta:
        unknown = EXCLUDE
    format = fields.String(load_default="text", validate=validate.OneOf(("text", "html")))
    columns = fields.Integer(load_default=42, validate=validate.Range(min=24, max=96))


class PublicArgs(Schema):
    class Meta:
        unknown = EXCLUDE
    t = fields.String(load_default="", validate=validate.Length(max=200))


class PublicDecisionIn(Schema):
    t = fields.String(required=True, validate=validate.Length(max=200))
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "decline")))


# ------------------------------------------------------------------ output

class UnitOut(Schema):
    id = fields.Integer(required=True)
    item_id = fields.Integer(allow_none=True, required=True)
    product_id = fields.Integer(allow_none=True, required=True)
    serial = fields.String(required=True)
    description = fields.String(required=True)
    coverage = fields.String(required=True)
    released_at = fields.DateTime(allow_none=True, required=True)


class TicketOut(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    hold_reason = fields.String(allow_none=True, required=True)
    customer_id = fields.Integer(required=True)
    customer_name = fields.String(required=True)
    problem = fields.String(required=True)
    instructions = fields.String(required=True)
    accessories = fields.String(required=True)
    condition = fields.String(required=True)
    rush = fields.Boolean(required=True)
    priority = fields.Integer(required=True)
    promised_for = fields.Date(allow_none=True, required=True)
    technician_id = fields.Integer(allow_none=True, required=True)
    deposit = MoneyField(required=True)
    deposit_reference = fields.String(required=True)
    comeback_of_id = fields.Integer(allow_none=True, required=True)
    status_url = fields.String(required=True)
    opened_at = fields.DateTime(required=True)
    status_changed_at = fields.DateTime(required=True)
    ready_at = fields.DateTime(allow_none=True, required=True)
    collected_at = fields.DateTime(allow_none=True, required=True)
    units = fields.Method("_units", metadata={"type": "array"})

    def _units(self, ticket: Any) -> list[dict]:
        from plugins.repairs.services import ticket_units
        return UnitOut(many=True).dump(ticket_units(object_session(ticket), ticket))


class NoteOut(Schema):
    id = fields.Integer(required=True)
    body = fields.String(required=True)
    visibility = fields.String(required=True)
    author_id = fields.Integer(allow_none=True, required=True)
    at = fields.DateTime(required=True)


class LaborOut(Schema):
    id = fields.Integer(required=True)
    unit_id = fields.Integer(allow_none=True, required=True)
    technician_id = fields.Integer(allow_none=True, required=True)
    minutes = fields.Integer(required=True)
    description = fields.String(required=True)
    rate = MoneyField(required=True)
    amount = MoneyField(required=True)
    list_amount = MoneyField(required=True)
    covered = fields.Boolean(required=True)
    at = fields.DateTime(required=True)


class PartOut(Schema):
    id = fields.Integer(required=True)
    unit_id = fields.Integer(allow_none=True, required=True)
    product_id = fields.Integer(required=True)
    quantity = fields.Integer(required=True)
    serial = fields.String(allow_none=True, required=True)
    description = fields.String(required=True)
    unit_price = MoneyField(required=True)
    amount = MoneyField(required=True)
    list_amount = MoneyField(required=True)
    covered = fields.Boolean(required=True)
    status = fields.String(required=True, metadata={"description": "reserved, to_order, consumed, released"})
    reservation_id = fields.Integer(allow_none=True, required=True)


_ESTIMATE_AMOUNT = ("In the shop's prices: before tax, or with the tax inside when "
                    "prices_include_tax is true.")
_ESTIMATE_TAX = ("The tax on the estimate, by the rule checkout charges by; null: made before "
                 "estimates stated their tax.")
_ESTIMATE_TOTAL = ("What the customer pays for it, tax included — what they approve, and what "
                   "the work is compared with (beyond it asks again); null: made before "
                   "estimates stated their tax.")
_ESTIMATE_INCLUDE = "Whether amount has the tax inside (the shop's setting then); null: not known."
_ESTIMATE_SUMMARY = ('How to say it: "80.00 + 16.00 tax = 96.00" (prices exclude tax), '
                     '"96.00 (incl. 16.00 tax)" (prices include it), "80.00 (tax not stated)".')


class EstimateFiguresOut(Schema):
    """An estimate's figures, as the staff and the customer see them alike."""
    id = fields.Integer(required=True)
    amount = MoneyField(required=True, metadata={"description": _ESTIMATE_AMOUNT})
    tax = MoneyField(allow_none=True, required=True, metadata={"description": _ESTIMATE_TAX})
    total = MoneyField(allow_none=True, required=True, metadata={"description": _ESTIMATE_TOTAL})
    prices_include_tax = fields.Boolean(allow_none=True, required=True,
                                        metadata={"description": _ESTIMATE_INCLUDE})
    summary = fields.String(required=True, metadata={"description": _ESTIMATE_SUMMARY})


class EstimateOut(EstimateFiguresOut):
    parts_amount = MoneyField(required=True)
    labor_amount = MoneyField(required=True)
    labor_minutes = fields.Integer(required=True)
    note = fields.String(required=True)
    status = fields.String(required=True)
    requested_at = fields.DateTime(required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)
    decided_via = fields.String(required=True)


class PickupOut(Schema):
    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    total = MoneyField(required=True, metadata={
        "description": "Parts and labour released, before tax."})
    tax = MoneyField(required=True, metadata={
        "description": "The tax on them: what the till sale charged, or the same by its rule."})
    deposit_applied = MoneyField(required=True)
    amount_due = MoneyField(minimum=None, required=True, metadata={
        "description": "total + tax - deposit_applied: what the customer pays "
                       "(negative when the deposit was more)."})
    payment_method = fields.String(required=True)
    payment_reference = fields.String(required=True)
    sale_id = fields.Integer(allow_none=True, required=True)
    sale_number = fields.String(required=True)
    ticket_status = fields.Method("_status")

    def _status(self, pickup: Any) -> str:
        from plugins.repairs.models import Ticket
        return object_session(pickup).get(Ticket, pickup.ticket_id).status


class ChargeLineOut(Schema):
    description = fields.String(required=True)
    quantity = fields.Decimal(as_string=True, required=True)
    unit_price = MoneyField(minimum=None, required=True, metadata={
        "description": "The list price; a covered line is charged nothing."})
    tax_rate = fields.Decimal(as_string=True, required=True)
    kind = fields.String(required=True)
    covered = fields.Boolean(required=True, metadata={"description": "Paid by a warranty."})
    net = MoneyField(minimum=None, required=True, metadata={
        "description": "The line as checkout charges it, before tax (each amount rounded "
                       "once on the line, per prices_include_tax; 0 when covered)."})
    tax = MoneyField(minimum=None, required=True, metadata={"description": "The line's tax."})
    total = MoneyField(minimum=None, required=True, metadata={
        "description": "What the customer pays for the line: net + tax."})


class ChargesOut(Schema):
    """What checking out every unit still here charges now — the figures checkout
    records and the till rings up."""
    lines = fields.List(fields.Nested(ChargeLineOut), required=True)
    deposit = MoneyField(required=True, metadata={
        "description": "The deposit checkout applies: all that is left of it (with the "
                       "last unit)."})
    subtotal = MoneyField(required=True, metadata={
        "description": "The lines' net summed: the work before tax."})
    tax = MoneyField(required=True, metadata={"description": "The lines' tax summed."})
    total = MoneyField(required=True, metadata={
        "description": "The lines' totals summed: the work, tax included (subtotal + tax)."})
    amount_due = MoneyField(minimum=None, required=True, metadata={
        "description": "total - deposit: what the customer pays at checkout (negative: the "
                       "deposit is paid back)."})
    prices_include_tax = fields.Boolean(required=True, metadata={
        "description": "The shop's setting the lines were priced by: unit prices with the "
                       "tax inside (true) or before tax."})

    @pre_dump
    def _from_quote(self, quote: Any, **_: Any) -> dict[str, Any]:
        """A ``pricing.Quote`` (services.pickup_quote) as the API shows it."""
        return {"lines": [{**asdict(line), "net": a.net, "tax": a.tax, "total": a.total}
                          for line, a in quote.lines],
                "deposit": quote.deposit, "subtotal": quote.work.subtotal, "tax": quote.work.tax,
                "total": quote.work.total, "amount_due": quote.due,
                "prices_include_tax": quote.prices_include_tax}


class TicketDetailOut(TicketOut):
    notes = fields.List(fields.Nested(NoteOut), required=True)
    labor = fields.List(fields.Nested(LaborOut), required=True)
    parts = fields.List(fields.Nested(PartOut), required=True)
    estimates = fields.List(fields.Nested(EstimateOut), required=True)
    pickups = fields.List(fields.Nested(PickupOut), required=True)
    charges = fields.Nested(ChargesOut, required=True)


class PrintOut(Schema):
    job_id = fields.Integer(allow_none=True, required=True)
    printed = fields.Boolean(required=True)


class PublicEstimateOut(EstimateFiguresOut):
    parts = MoneyField(required=True)
    labor = MoneyField(required=True)
    note = fields.String(required=True)
    requested_at = fields.DateTime(required=True)


class PublicNoteOut(Schema):
    at = fields.DateTime(required=True)
    body = fields.String(required=True)


class PublicTicketOut(Schema):
    number = fields.String(required=True)
    status = fields.String(required=True)
    label = fields.String(required=True)
    description = fields.String(required=True)
    updated = fields.DateTime(required=True)
    promised_for = fields.Date(allow_none=True, required=True)
    notes = fields.List(fields.Nested(PublicNoteOut), required=True)
    estimate = fields.Nested(PublicEstimateOut, allow_none=True, required=True)
