"""marshmallow schemas of the records' API (they also feed the OpenAPI document).

Money is a string with two decimals in and out (``"19.99"``); a JSON number is
accepted when it has at most two decimals. ``tax_rate`` is a percentage (``"8.25"``).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from core.fields import MoneyField
from core.records.catalog import PRODUCT_KINDS
from core.records.items import ITEM_STATUSES
from core.records.parties import CONTACT_CHANNELS, VENDOR_KINDS
from core.records.stock import LOCATION_KINDS, RESERVATION_STATUSES
from core.rest import PageArgs, SearchPageArgs

ID = validate.Range(min=1, max=2**62)


def _nullable_str(max_len: int) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=max_len))


# ------------------------------------------------------------------ parties

class CustomerSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    phone_digits = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    address = fields.String(required=True)
    notes = fields.String(required=True)
    contact_channel = fields.String(required=True)
    marketing_opt_out = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    merged_into_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CustomerRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)


class CustomerCreatedSchema(CustomerSchema):
    possible_duplicates = fields.List(fields.Nested(CustomerRefSchema), required=True, metadata={
        "description": "Active customers with the same phone number or e-mail address."})


class _TrimContact(Schema):
    """E-mail addresses arrive with stray spaces from copy and paste; trim before validating."""

    @pre_load
    def _trim(self, data: Any, **kw: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            data = {**data, "email": data["email"].strip() or None}
        return data


class CustomerUpdateSchema(_TrimContact):
    name = fields.String(validate=validate.Length(min=1, max=200))
    phone = _nullable_str(40)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    address = fields.String(validate=validate.Length(max=2000))
    notes = fields.String(validate=validate.Length(max=10000))
    contact_channel = fields.String(validate=validate.OneOf(CONTACT_CHANNELS))
    marketing_opt_out = fields.Boolean()


class CustomerCreateSchema(CustomerUpdateSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact_channel = fields.String(load_default=None, validate=validate.OneOf(CONTACT_CHANNELS),
                                    metadata={"description": "Default: email when there is an "
                                              "e-mail address, else sms when a phone, else none."})


class CustomerListArgs(SearchPageArgs):
    include_merged = fields.Boolean(load_default=False)


class MergeSchema(Schema):
    from_id = fields.Integer(required=True, validate=ID,
                             metadata={"description": "The duplicate customer folded into this one."})


class VendorSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    contact = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    account_number = fields.String(required=True)
    default_lead_time_days = fields.Integer(allow_none=True, required=True)
    notes = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class VendorUpdateSchema(_TrimContact):
    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(validate=validate.OneOf(VENDOR_KINDS))
    contact = fields.String(validate=validate.Length(max=200))
    phone = _nullable_str(40)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    account_number = fields.String(validate=validate.Length(max=64))
    default_lead_time_days = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=3650))
    notes = fields.String(validate=validate.Length(max=10000))
    active = fields.Boolean()


class VendorCreateSchema(VendorUpdateSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class VendorListArgs(SearchPageArgs):
    kind = fields.String(load_default=None, validate=validate.OneOf(VENDOR_KINDS))


# ------------------------------------------------------------------ catalog

class ProductSchema(Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    barcode = fields.String(allow_none=True, required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    kind = fields.String(required=True)
    price = MoneyField(required=True)
    cost = MoneyField(required=True)
    tax_rate = MoneyField(places=3, required=True, metadata={
        "description": "Percentage: 8.25 means 8.25 %."})
    serialized = fields.Boolean(required=True)
    min_stock = fields.Integer(required=True)
    reorder_qty = fields.Integer(required=True)
    vendor_id = fields.Integer(allow_none=True, required=True)
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ProductUpdateSchema(Schema):
    sku = fields.String(validate=[validate.Length(min=1, max=64),
                                  validate.Regexp(r"^\S(.*\S)?$", error="No leading or trailing spaces.")])
    barcode = fields.String(allow_none=True, validate=validate.Length(max=32), metadata={
        "description": "UPC-A (12 digits), EAN-13 or EAN-8 with a valid check digit."})
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10000))
    kind = fields.String(validate=validate.OneOf(PRODUCT_KINDS))
    price = MoneyField()
    cost = MoneyField()
    tax_rate = MoneyField(places=3, maximum=Decimal("100"),
                          metadata={"description": "Percentage: 8.25 means 8.25 %."})
    serialized = fields.Boolean()
    min_stock = fields.Integer(validate=validate.Range(min=0, max=10**9))
    reorder_qty = fields.Integer(validate=validate.Range(min=0, max=10**9))
    vendor_id = fields.Integer(allow_none=True, validate=ID)
    active = fields.Boolean()


class ProductCreateSchema(ProductUpdateSchema):
    sku = fields.String(required=True, validate=[validate.Length(min=1, max=64), validate.Regexp(
        r"^\S(.*\S)?$", error="No leading or trailing spaces.")])
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    price = MoneyField(required=True)


class ProductListArgs(SearchPageArgs):
    kind = fields.String(load_default=None, validate=validate.OneOf(PRODUCT_KINDS))
    active = fields.Boolean(load_default=None)
    vendor_id = fields.Integer(load_default=None, validate=ID)


# -------------------------------------------------------------------- items

class ItemSchema(Schema):
    id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    product_name = fields.Function(lambda i: i.product.name, required=True,
                                   metadata={"type": "string"})
    sku = fields.Function(lambda i: i.product.sku, required=True, metadata={"type": "string"})
    serial = fields.String(required=True)
    serial_norm = fields.String(required=True)
    status = fields.String(required=True)
    owner_id = fields.Integer(allow_none=True, required=True)
    location_id = fields.Integer(allow_none=True, required=True)
    notes = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ItemCreateSchema(Schema):
    product_id = fields.Integer(required=True, validate=ID)
    serial = fields.String(required=True, validate=validate.Length(min=1, max=100))
    status = fields.String(load_default="in_stock", validate=validate.OneOf(ITEM_STATUSES))
    owner_id = fields.Integer(allow_none=True, load_default=None, validate=ID)
    location_id = fields.Integer(allow_none=True, load_default=None, validate=ID)
    notes = fields.String(load_default="", validate=validate.Length(max=10000))
    reason = fields.String(load_default=None, validate=validate.Length(max=255))


class ItemUpdateSchema(Schema):
    status = fields.String(validate=validate.OneOf(ITEM_STATUSES))
    owner_id = fields.Integer(allow_none=True, validate=ID)
    location_id = fields.Integer(allow_none=True, validate=ID)
    notes = fields.String(validate=validate.Length(max=10000))
    reason = fields.String(validate=validate.Length(max=255))


class ItemListArgs(PageArgs):
    serial = fields.String(load_default=None, validate=validate.Length(min=1, max=100),
                           metadata={"description": "Exact serial (whitespace and case ignored)."})
    product_id = fields.Integer(load_default=None, validate=ID)
    owner_id = fields.Integer(load_default=None, validate=ID)
    location_id = fields.Integer(load_default=None, validate=ID)
    status = fields.String(load_default=None, validate=validate.OneOf(ITEM_STATUSES))


class TimelineEntrySchema(Schema):
    at = fields.DateTime(required=True)
    type = fields.String(required=True)
    title = fields.String(required=True)
    detail = fields.String(required=True)
    url = fields.String(allow_none=True, required=True)
    source = fields.String(required=True)
    extra = fields.Dict(required=True)


# -------------------------------------------------------------------- stock

class LocationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    active = fields.Boolean(required=True)


class LocationCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.String(load_default="store", validate=validate.OneOf(LOCATION_KINDS))
    active = fields.Boolean(load_default=True)


class LocationListArgs(PageArgs):
    kind = fields.String(load_default=None, validate=validate.OneOf(LOCATION_KINDS))


class StockLevelSchema(Schema):
    product_id = fields.Integer(required=True)
    location_id = fields.Integer(required=True)
    on_hand = fields.Integer(required=True)
    reserved = fields.Integer(required=True)
    available = fields.Integer(required=True)


class StockArgs(PageArgs):
    product_id = fields.Integer(load_default=None, validate=ID)
    location_id = fields.Integer(load_default=None, validate=ID)


class StockMoveSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    product_id = fields.Integer(required=True)
    from_location_id = fields.Integer(allow_none=True, required=True)
    to_location_id = fields.Integer(allow_none=True, required=True)
    quantity = fields.Integer(required=True)
    kind = fields.String(required=True)
    reason = fields.String(required=True)
    item_id = fields.Integer(allow_none=True, required=True)
    actor_id = fields.Integer(allow_none=True, required=True)
    reference = fields.String(allow_none=True, required=True)


class StockMoveCreateSchema(Schema):
    product_id = fields.Integer(required=True, validate=ID)
    from_location_id = fields.Integer(allow_none=True, load_default=None, validate=ID)
    to_location_id = fields.Integer(allow_none=True, load_default=None, validate=ID)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))
    serials = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                          load_default=list, validate=validate.Length(max=1000))
    reference = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=120))

    @validates_schema
    def _some_location(self, data: dict[str, Any], **kw: Any) -> None:
        if data.get("from_location_id") is None and data.get("to_location_id") is None:
            raise ValidationError("Give from_location_id, to_location_id or both.",
                                  field_name="to_location_id")


class StockMovesCreatedSchema(Schema):
    moves = fields.List(fields.Nested(StockMoveSchema), required=True)


class StockMoveListArgs(PageArgs):
    product_id = fields.Integer(load_default=None, validate=ID)
    location_id = fields.Integer(load_default=None, validate=ID)
    item_id = fields.Integer(load_default=None, validate=ID)


class ReservationSchema(Schema):
    id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    location_id = fields.Integer(required=True)
    quantity = fields.Integer(required=True)
    reference_type = fields.String(required=True)
    reference_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(RESERVATION_STATUSES))
    note = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ReservationCreateSchema(Schema):
    product_id = fields.Integer(required=True, validate=ID)
    location_id = fields.Integer(required=True, validate=ID)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    reference_type = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                   metadata={"description": "What holds it, e.g. layaway."})
    reference_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ReservationConsumeSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=255))
    serials = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                          load_default=list, validate=validate.Length(max=1000))


class ReservationListArgs(PageArgs):
    product_id = fields.Integer(load_default=None, validate=ID)
    location_id = fields.Integer(load_default=None, validate=ID)
    reference_type = fields.String(load_default=None, validate=validate.Length(max=64))
    reference_id = fields.String(load_default=None, validate=validate.Length(max=64))
    status = fields.String(load_default=None, validate=validate.OneOf(RESERVATION_STATUSES))
