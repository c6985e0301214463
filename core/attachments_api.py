"""The attachments API under /api/v1 (../shared/API.md, Kernel section).

``POST /attachments`` takes ``multipart/form-data``; ``GET /attachments/{id}`` answers
the metadata, ``/content`` the bytes and ``/thumbnail`` a small JPEG. Who may see or
add attachments depends on the record they belong to, so the views are open to any
signed-in user and the service checks the record's permissions (403 otherwise).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from flask import Blueprint, Response, g, request, send_file
from marshmallow import RAISE, Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from core import attachments as svc
from core.attachments import FILE_TYPES, Attachment, Storage, TooLarge
from core.attachments_schemas import (AttachmentFormSchema, AttachmentListArgs, AttachmentSchema,
                                      AttachmentUploadSchema)
from core.errors import Invalid, NotFound
from core.rest import Page, endpoint
from core.settings import get_setting

attachments_api = Blueprint("attachments", __name__, url_prefix="/api/v1")

# Room for the multipart envelope and the text fields around the file.
FORM_OVERHEAD = 64 * 1024


def multipart_body(schema: type[Schema]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare that an ``endpoint`` view reads a ``multipart/form-data`` body shaped like
    ``schema`` (``endpoint`` parses JSON bodies only, so the view reads the form)."""
    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.__dict__["_cd_endpoint"] = replace(view.__dict__["_cd_endpoint"], body=schema,
                                                multipart=True)
        return view
    return mark


def _storage() -> Storage:
    return Storage(g.runtime.config.attachments_path)


def _scope() -> dict[str, Any]:
    return {"targets": g.runtime.registry.attachment_targets,
            "permissions": g.runtime.permissions_of(g.actor)}


def _max_bytes() -> int:
    return int(get_setting("core", "attachments_max_mb", g.session)) * 1024 * 1024


def _read_form(max_bytes: int) -> tuple[dict[str, Any], Any]:
    """The form's fields loaded with :class:`AttachmentFormSchema`, and the file."""
    request.max_content_length = max_bytes + FORM_OVERHEAD
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        limit = svc.size_limit_text(max_bytes)
        raise TooLarge(f"The upload is larger than the {limit} limit for attachments.",
                       fields={"file": [f"At most {limit}."]}) from None
    errors: dict[str, Any] = {}
    try:
        data = AttachmentFormSchema(unknown=RAISE).load(
            {k: v for k, v in form.items() if k != "file"})
    except ValidationError as exc:
        errors, data = exc.normalized_messages(), {}  # type: ignore[assignment]
    upload = files.get("file")
    if upload is None:
        errors["file"] = ["Missing data for required field."]
    if errors:
        raise Invalid("Some fields are not valid.", fields=errors)
    return data, upload


@attachments_api.post("/attachments")
@multipart_body(AttachmentUploadSchema)
@endpoint(signed_in=True, response=AttachmentSchema, status=201, tags=["attachments"],
          errors=(404, 413, 415, 422))
def upload_attachment() -> Any:
    """Attach a photo or document to a record.

    Needs the record's attach permission (for a customer `core.customers.edit`, for a
    unit `core.items.edit`...). The type is decided by the content, not the name
    (JPEG, PNG, GIF, WebP, HEIC, PDF, plain text or CSV); programs are refused (415),
    as are files over the `attachments_max_mb` setting (413) and damaged images (422).
    Images get a thumbnail."""
    max_bytes, scope = _max_bytes(), _scope()
    # End the transaction that authentication began before the body is read: on SQLite
    # a writing request holds the write lock, and every other writer would wait while
    # a slow client uploads. The service uses the session again only once the file is in.
    g.session.rollback()
    data, upload = _read_form(max_bytes)
    return svc.add_attachment(g.session, g.actor, **scope, storage=_storage(),
                              record_type=data["record_type"], record_id=data["record_id"],
                              stream=upload.stream, filename=upload.filename,
                              caption=data["caption"], max_bytes=max_bytes)


@attachments_api.get("/attachments")
@endpoint(signed_in=True, query=AttachmentListArgs, response=AttachmentSchema, paginated=True,
          tags=["attachments"], errors=(403, 404))
def list_attachments(args: dict[str, Any]) -> Page:
    """A record's attachments, newest first (needs the record's view permission)."""
    return svc.list_attachments(g.session, **_scope(), record_type=args["record_type"],
                                record_id=args["record_id"], page=args["page"],
                                per_page=args["per_page"])


@attachments_api.get("/attachments/<int:attachment_id>")
@endpoint(signed_in=True, response=AttachmentSchema, tags=["attachments"], errors=(404,))
def get_attachment(attachment_id: int) -> Any:
    """One attachment's details (needs its record's view permission)."""
    return svc.get_attachment(g.session, attachment_id, **_scope())


@attachments_api.get("/attachments/<int:attachment_id>/content")
@endpoint(signed_in=True, tags=["attachments"], errors=(404,),
          content_type=", ".join(FILE_TYPES))
def download_attachment(attachment_id: int) -> Response:
    """The file itself (needs its record's view permission): images and PDFs inline,
    other types as a download."""
    attachment = svc.get_attachment(g.session, attachment_id, **_scope())
    file_type = FILE_TYPES[attachment.content_type]
    return _send(attachment, _storage().path(attachment.storage_key), attachment.content_type,
                 inline=file_type.inline, name=attachment.filename, etag=attachment.sha256)


@attachments_api.get("/attachments/<int:attachment_id>/thumbnail")
@endpoint(signed_in=True, tags=["attachments"], errors=(404,), content_type="image/jpeg")
def attachment_thumbnail(attachment_id: int) -> Response:
    """A JPEG at most 320 pixels on its longer side (images only; 404 otherwise)."""
    attachment = svc.get_attachment(g.session, attachment_id, **_scope())
    if not attachment.has_thumbnail:
        raise NotFound(f"Attachment {attachment_id} has no thumbnail (it is not an image "
                       "that can be previewed).", code="thumbnail_not_found")
    stem = attachment.filename.rpartition(".")[0] or attachment.filename
    return _send(attachment, _storage().thumbnail_path(attachment.storage_key), "image/jpeg",
                 inline=True, name=f"{stem}.thumb.jpg", etag=f"{attachment.sha256}-thumb")


@attachments_api.delete("/attachments/<int:attachment_id>")
@endpoint(permission="core.attachments.delete", status=204, tags=["attachments"], errors=(404,))
def delete_attachment(attachment_id: int) -> Any:
    """Delete an attachment (audited); also needs its record's view permission."""
    attachment = svc.get_attachment(g.session, attachment_id, **_scope())
    svc.delete_attachment(g.session, g.actor, attachment, _storage())
    return None


def _send(attachment: Attachment, path: Any, content_type: str, *, inline: bool, name: str,
          etag: str) -> Response:
    if not path.is_file():
        raise NotFound(f"The file of attachment {attachment.id} is missing from storage.",
                       code="attachment_file_missing")
    resp = send_file(path, mimetype=content_type, as_attachment=not inline, download_name=name,
                     conditional=True, etag=etag, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp
