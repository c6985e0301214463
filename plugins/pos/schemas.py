"""Marshmallow schemas of the pos API. Money is a string with two decimals."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core import MoneyField, page_schema

from plugins.pos.models import TENDERS



def Quantity(**kw: Any) -> MoneyField:  # noqa: N802 - a field factory
    return MoneyField(places=3, exclusive_minimum=True, **kw)


# ------------------------------------------------------------------ registers

class RegisterSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True)
    location_id = fields.Integer(required=True)
    printer_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    open_session_id = fields.Method("_open_session", dump_only=True, allow_none=True)

    def _open_session(self, obj: Any) -> Any:
        return getattr(obj, "_open_session_id", None)


class RegisterCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    location_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))
    printer_id = fields.Integer(load_default=None, allow_none=True,
                                validate=validate.Range(min=1, max=2**62))


class ShiftOpenSchema(Schema):
    opening_cash = MoneyField(required=True)


class ShiftCloseSchema(Schema):
    counted_cash = MoneyField(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class ShiftSchema(Schema):
    id = fields.Integer()
    register_id = fields.Integer()
    status = fields.String()
    opened_at = fields.DateTime()
    opening_cash = MoneyField()
    closed_at = fields.DateTime(allow_none=True)
    counted_cash = MoneyField(allow_none=True)
    expected_cash = MoneyField(minimum=None, allow_none=True)
    difference = MoneyField(minimum=None, allow_none=True)


class ReportTotals(Schema):
    count = fields.Integer()
    total = MoneyField(minimum=None)
    tax = MoneyField(minimum=None)


class TenderTotal(Schema):
    method = fields.String()
    amount = MoneyField(minimum=None, metadata={
        "description": "What the till kept in this tender: received on sales, less the change "
                       "given (cash), less refunds paid. The tenders add up to net_total."})


class CashSummary(Schema):
    opening = MoneyField()
    taken = MoneyField(minimum=None, metadata={"description": "Cash handed over on sales."})
    change_given = MoneyField(minimum=None)
    refunded = MoneyField(minimum=None, metadata={"description": "Cash paid out on returns."})
    expected = MoneyField(minimum=None, metadata={
        "description": "opening + taken − change_given − refunded."})
    counted = MoneyField(allow_none=True)
    difference = MoneyField(minimum=None, allow_none=True)


class SectionSchema(Schema):
    title = fields.String()
    lines = fields.List(fields.String())


class CloseReportSchema(Schema):
    session_id = fields.Integer()
    register_id = fields.Integer()
    register = fields.String()
    opened_at = fields.String()
    closed_at = fields.String()
    sales = fields.Nested(ReportTotals)
    refunds = fields.Nested(ReportTotals)
    net_total = MoneyField(minimum=None)
    tenders = fields.List(fields.Nested(TenderTotal))
    cash = fields.Nested(CashSummary)
    sections = fields.List(fields.Nested(SectionSchema))


# ---------------------------------------------------------------------- sales

class SaleLineIn(Schema):
    product_id = fields.Integer(validate=validate.Range(min=1, max=2**62))
    code = fields.String(validate=validate.Length(min=1, max=64),
                         metadata={"description": "A scanned barcode or typed SKU, instead of product_id."})
    quantity = Quantity(load_default=Decimal(1))
    unit_price = MoneyField(allow_none=True)
    discount = MoneyField(allow_none=True, metadata={"description": "Amount off the whole line."})
    discount_percent = MoneyField(allow_none=True, validate=validate.Range(max=Decimal(100)))
    serial = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    warranty_plan_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**62))

    @validates_schema
    def _names_a_product(self, data: dict[str, Any], **kw: Any) -> None:
        if data.get("product_id") is None and not data.get("code"):
            raise ValidationError("Give product_id or code.", "product_id")


class PaymentIn(Schema):
    method = fields.String(required=True, validate=validate.OneOf(TENDERS))
    amount = MoneyField(required=True, exclusive_minimum=True)


class SaleCreateSchema(Schema):
    session_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))
    customer_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**62))
    lines = fields.List(fields.Nested(SaleLineIn), load_default=list,
                        validate=validate.Length(max=500))
    payments = fields.List(fields.Nested(PaymentIn), load_default=list,
                           validate=validate.Length(max=20))
    ticket_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**62))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    print_receipt = fields.Boolean(allow_none=True, load_default=None,
                                   metadata={"description": "Queue the receipt on the register's "
                                             "printer (default: the pos setting print_receipt)."})


class SaleLineSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    kind = fields.String()
    product_id = fields.Integer(allow_none=True)
    item_id = fields.Integer(allow_none=True)
    serial = fields.String(allow_none=True)
    description = fields.String()
    quantity = MoneyField(places=3, minimum=None)
    unit_price = MoneyField(minimum=None)
    list_price = MoneyField(minimum=None)
    discount = MoneyField()
    tax_rate = MoneyField(places=3)
    net = MoneyField(minimum=None)
    tax = MoneyField(minimum=None)
    total = MoneyField(minimum=None)
    warranty_plan_id = fields.Integer(allow_none=True)
    covered = fields.Boolean()
    original_line_id = fields.Integer(allow_none=True)


class PaymentSchema(Schema):
    method = fields.String()
    amount = MoneyField(minimum=None)


class SaleSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    status = fields.String()
    at = fields.DateTime()
    session_id = fields.Integer(attribute="shift_id")
    register_id = fields.Integer()
    location_id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    ticket_id = fields.Integer(allow_none=True)
    original_sale_id = fields.Integer(allow_none=True)
    prices_include_tax = fields.Boolean()
    lines = fields.List(fields.Nested(SaleLineSchema))
    payments = fields.List(fields.Nested(PaymentSchema))
    subtotal = MoneyField(minimum=None)
    tax = MoneyField(minimum=None)
    total = MoneyField(minimum=None)
    paid = MoneyField(minimum=None)
    change_due = MoneyField()
    reason = fields.String()
    note = fields.String()


SalePageSchema = page_schema(SaleSchema)


class SaleListArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    number = fields.String(validate=validate.Length(max=20))
    customer_id = fields.Integer(validate=validate.Range(min=1, max=2**62))
    serial = fields.String(validate=validate.Length(max=100))
    barcode = fields.String(validate=validate.Length(max=64))
    session_id = fields.Integer(validate=validate.Range(min=1, max=2**62))
    kind = fields.String(validate=validate.OneOf(("sale", "return")))


class ReturnLineIn(Schema):
    line_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))
    quantity = Quantity(load_default=Decimal(1))


class ReturnCreateSchema(Schema):
    lines = fields.List(fields.Nested(ReturnLineIn), required=True,
                        validate=validate.Length(min=1, max=500))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    refund_method = fields.String(required=True, validate=validate.OneOf(TENDERS))
    session_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**62),
                                metadata={"description": "The till session paying the refund "
                                          "(default: the open one on the sale's register)."})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ReceiptArgs(Schema):
    format = fields.String(load_default="text", validate=validate.OneOf(("text", "html", "json")))


class PrintedSchema(Schema):
    job_id = fields.Integer()
    sale_id = fields.Integer()


class LookupArgs(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class ProductCardSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    barcode = fields.String(allow_none=True)
    name = fields.String()
    kind = fields.String()
    price = MoneyField()
    tax_rate = MoneyField(places=3)
    serialized = fields.Boolean()
    active = fields.Boolean()


class OfferArgs(Schema):
    product_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))
    serial = fields.String(validate=validate.Length(max=100))
    customer_id = fields.Integer(validate=validate.Range(min=1, max=2**62))


class OfferSchema(Schema):
    kind = fields.String()
    ref = fields.Integer()
    title = fields.String()
    price = MoneyField()
    description = fields.String()
