"""Marshmallow schemas of the devices API (/api/v1/devices)."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from core import document_from_dict, render_text

from plugins.devices.models import JOB_KINDS, JOB_STATUSES

_COLUMNS = validate.Range(min=8, max=96)
# Ids fit the database's 64-bit integers: a larger number is a 422, never a 500.
_ID = validate.Range(min=1, max=2**62)


class PrinterCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    uri = fields.String(required=True, validate=validate.Length(min=1, max=300),
                        metadata={"description": "dummy: · file:path · file:dir/ (inside the "
                                  "instance folder; a relative path is resolved under it) · "
                                  "tcp://host:9100 · usb://vendor:product · serial:/dev/ttyS0?baudrate=9600"})
    profile = fields.String(load_default="default", validate=validate.Length(min=1, max=60),
                            metadata={"description": "a python-escpos capability profile (GET /devices/profiles)"})
    columns = fields.Integer(load_default=None, allow_none=True, validate=_COLUMNS,
                             metadata={"description": "characters per line; default: the profile's"})
    encoding = fields.String(load_default="auto", validate=validate.Length(min=1, max=20),
                             metadata={"description": "code page for text: auto (CP858, else CP437), "
                                       "CP437, CP850, CP858, CP1252 or ISO_8859-15"})
    active = fields.Boolean(load_default=True)
    location_id = fields.Integer(load_default=None, allow_none=True, validate=_ID)


class PrinterUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=80))
    uri = fields.String(validate=validate.Length(min=1, max=300))
    profile = fields.String(validate=validate.Length(min=1, max=60))
    columns = fields.Integer(allow_none=True, validate=_COLUMNS)
    encoding = fields.String(validate=validate.Length(min=1, max=20))
    active = fields.Boolean()
    location_id = fields.Integer(allow_none=True, validate=_ID)


class PrinterSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    uri = fields.String(required=True)
    profile = fields.String(required=True)
    columns = fields.Integer(required=True)
    encoding = fields.String(required=True)
    codepage = fields.Method("_codepage", required=True,
                             metadata={"description": "the code page text is printed in"})
    active = fields.Boolean(required=True)
    location_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)

    def _codepage(self, printer: Any) -> str | None:
        from plugins.devices.services import codepage_of
        try:
            return codepage_of(printer)
        except ValueError:
            return None


class PrinterListArgs(Schema):
    active = fields.Boolean(load_default=None, allow_none=True)


class ProfileSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    columns = fields.Integer(required=True)
    features = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)
    codepages = fields.List(fields.String(), required=True)


class PrintJobSchema(Schema):
    id = fields.Integer(required=True)
    printer_id = fields.Integer(required=True)
    printer_name = fields.Function(lambda job: job.printer.name, required=True)
    kind = fields.String(required=True, metadata={"enum": list(JOB_KINDS)})
    title = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(JOB_STATUSES)})
    attempts = fields.Integer(required=True)
    last_error = fields.String(required=True, allow_none=True)
    created_by_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    printed_at = fields.DateTime(required=True, allow_none=True)
    output_bytes = fields.Function(lambda job: None if job.output is None else len(job.output),
                                   required=True, allow_none=True,
                                   metadata={"description": "bytes kept by a dummy: printer"})


class PrintJobDetailSchema(PrintJobSchema):
    document = fields.Dict(required=True)
    text = fields.Function(lambda job: render_text(document_from_dict(job.document),
                                                   job.printer.columns),
                           required=True, metadata={"description": "the document as plain text"})


class PrintJobListArgs(Schema):
    class Meta:
        unknown = EXCLUDE
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    printer_id = fields.Integer(load_default=None, validate=_ID)
    status = fields.String(load_default=None, validate=validate.OneOf(JOB_STATUSES))


class DrawerSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
