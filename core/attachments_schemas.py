"""marshmallow schemas of the attachments API (they also feed the OpenAPI document)."""
from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from core.rest import PageArgs

ID = validate.Range(min=1, max=2**62)
API = "/api/v1/attachments"


def printable(value: str) -> None:
    """No control characters (a NUL is refused by PostgreSQL); tabs and newlines are fine."""
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise ValidationError("Must not contain control characters.")


class AttachmentFormSchema(Schema):
    """The multipart form's text fields (the file is read separately)."""
    record_type = fields.String(required=True, validate=[validate.Length(min=1, max=64), printable],
                                metadata={"example": "item"})
    record_id = fields.Integer(required=True, validate=ID)
    caption = fields.String(load_default="", validate=[validate.Length(max=500), printable])


class AttachmentUploadSchema(AttachmentFormSchema):
    """``POST /attachments`` as ``multipart/form-data``: the file and what it belongs to."""
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "The photo or document."})


class AttachmentListArgs(PageArgs):
    record_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    record_id = fields.Integer(required=True, validate=ID)


def _thumbnail_url(a: Any) -> str | None:
    return f"{API}/{a.id}/thumbnail" if a.has_thumbnail else None


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    record_type = fields.String(required=True)
    record_id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True, metadata={"example": "image/jpeg"})
    size = fields.Integer(required=True, metadata={"description": "Bytes."})
    sha256 = fields.String(required=True)
    caption = fields.String(required=True)
    uploaded_by = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    has_thumbnail = fields.Boolean(required=True)
    content_url = fields.Function(lambda a: f"{API}/{a.id}/content", required=True,
                                  metadata={"type": "string"})
    thumbnail_url = fields.Function(_thumbnail_url, required=True, allow_none=True,
                                    metadata={"type": "string"})
