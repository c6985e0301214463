"""Attachments: photos and documents attached to any record (a unit, a customer, a
ticket, a claim...).

Which records take attachments is data: plugins return
:class:`core.types.AttachmentTarget` from ``register_attachment_targets`` and the
runtime's registry holds them. A target names the permission needed to see the
record's attachments and the one needed to add to them.

The bytes live outside the database, under ``config.attachments_path`` (by default
``<instance>/attachments``), one file per attachment at a random key in a sharded
folder (``ab/cd/abcd…``), never shared, so removing one never breaks another. An
upload is spooled to a temporary file while its size is counted and its SHA-256
computed, its type is decided by its content (never by its name), an image must
decode fully and gets a JPEG thumbnail, and only then is it renamed into place. The
file is written before the row commits: if the unit of work rolls back, the file is
removed again (``core.db.after_rollback``), so there is never a row without a file;
a crash between the two leaves at worst an orphan file.

Plain functions taking the session, the actor and what they need from the runtime:
no Flask in here (the API is ``core.attachments_api``).
"""
from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import os
import re
import unicodedata
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Mapping, Optional

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, select,
                        update)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import BigId, IdMixin, Model, after_commit, after_rollback, utcnow
from core.errors import DomainError, Forbidden, Invalid, NotFound
from core.models import User
from core.rest import Page, paginate
from core.types import AttachmentTarget

THUMBNAIL_SIZE = 320
CHUNK = 1024 * 1024
SNIFF_BYTES = 64


class TooLarge(DomainError):
    """The file is larger than attachments may be."""
    status = 413
    code = "too_large"


class UnsupportedType(DomainError):
    """The file's content is not a type that may be attached."""
    status = 415
    code = "unsupported_type"


# ------------------------------------------------------------------ the table

class Attachment(IdMixin, Model):
    """A photo or document attached to record ``record_type``/``record_id``. The
    record is any registered :class:`AttachmentTarget`, so there is no foreign key."""
    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_record", "record_type", "record_id"),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(BigId)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    caption: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by: Mapped[Optional[int]] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)


ATTACHMENT_MODELS = (Attachment,)


# ----------------------------------------------------------------- file types

@dataclass(frozen=True)
class FileType:
    """An accepted type: its extensions (the first is the canonical one), the Pillow
    format that must decode it (images), and whether browsers show it inline."""
    content_type: str
    title: str
    extensions: tuple[str, ...]
    pil_format: str | None = None
    inline: bool = False


FILE_TYPES = {t.content_type: t for t in (
    FileType("image/jpeg", "JPEG", ("jpg", "jpeg", "jpe", "jfif"), "JPEG", inline=True),
    FileType("image/png", "PNG", ("png",), "PNG", inline=True),
    FileType("image/gif", "GIF", ("gif",), "GIF", inline=True),
    FileType("image/webp", "WebP", ("webp",), "WEBP", inline=True),
    FileType("image/heic", "HEIC", ("heic", "heif")),   # Pillow cannot decode it: no thumbnail
    FileType("application/pdf", "PDF", ("pdf",), inline=True),
    FileType("text/csv", "CSV", ("csv",)),
    FileType("text/plain", "plain text", ("txt", "text", "log", "md")),
)}
ALLOWED_TITLES = ", ".join(t.title for t in FILE_TYPES.values())

# Programs are named in the refusal so whoever renamed one learns why.
PROGRAM_SIGNATURES = (
    (b"\x7fELF", "a Linux program (ELF)"),
    (b"MZ", "a Windows program (PE/EXE)"),
    (b"#!", "a script (it starts with #!)"),
    (b"\xfe\xed\xfa\xce", "a macOS program (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "a macOS program (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "a macOS program (Mach-O)"),
    (b"\xcf\xfa\xed\xfe", "a macOS program (Mach-O)"),
    (b"\xca\xfe\xba\xbe", "a macOS universal program or a Java class"),
)
HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def sniff(head: bytes) -> str | None:
    """The content type that the file's first bytes announce, for binary formats."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def program_kind(head: bytes) -> str | None:
    """What kind of program the file is, if it starts like one."""
    head = head.removeprefix(codecs.BOM_UTF8)
    for magic, kind in PROGRAM_SIGNATURES:
        if head.startswith(magic):
            return kind
    return None


_TEXT_CONTROLS = set(range(32)) - {9, 10, 12, 13}


def is_text(path: Path) -> bool:
    """UTF-8 text without NULs or other control characters (tabs and newlines aside)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if any(b in _TEXT_CONTROLS for b in chunk):
                return False
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_type(path: Path, head: bytes, filename: str) -> FileType:
    """The file's type decided by its content; :class:`UnsupportedType` saying why not."""
    kind = program_kind(head)
    if kind is not None:
        raise UnsupportedType(f"The file's content is {kind}, not an allowed type "
                              f"({ALLOWED_TITLES}).", fields={"file": [f"Content is {kind}."]})
    content_type = sniff(head)
    if content_type is None and is_text(path):
        content_type = "text/csv" if filename.lower().endswith(".csv") else "text/plain"
    if content_type is None:
        raise UnsupportedType(f"The file's content is not an allowed type ({ALLOWED_TITLES}), "
                              "whatever its name says.",
                              fields={"file": ["Content is not an allowed type."]})
    return FILE_TYPES[content_type]


# ------------------------------------------------------------------- images

def make_thumbnail(path: Path, file_type: FileType) -> bytes:
    """Check that the image decodes completely and return a JPEG thumbnail at most
    ``THUMBNAIL_SIZE`` pixels on its longer side (turned upright, transparency on white).
    A damaged image, or one with absurdly many pixels, is :class:`Invalid`."""
    from PIL import Image, ImageOps
    damaged = Invalid(f"The file is not a valid {file_type.title} image: it is damaged or "
                      "incomplete.", code="image_damaged",
                      fields={"file": ["The image does not decode."]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[file_type.pil_format]) as img:
                img.verify()                   # structure and checksums (PNG CRCs)
            with Image.open(path, formats=[file_type.pil_format]) as img:
                img.load()                     # every pixel: a truncated file fails here
                img = ImageOps.exif_transpose(img)
                if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                    rgba = img.convert("RGBA")
                    img = Image.new("RGB", rgba.size, "white")
                    img.paste(rgba, mask=rgba.getchannel("A"))
                else:
                    img = img.convert("RGB")
                img.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
                out = io.BytesIO()
                img.save(out, "JPEG", quality=80, optimize=True)
                return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid("The image has too many pixels to be processed safely.",
                      code="image_too_large", fields={"file": ["Too many pixels."]}) from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError):
        raise damaged from None


# ------------------------------------------------------------------- storage

@dataclass(frozen=True)
class Spooled:
    path: Path
    size: int
    sha256: str
    head: bytes


class Storage:
    """Attachment files under ``root``: ``<key>`` and ``<key>.thumb.jpg``, each written
    to a temporary file in ``root/.incoming`` and renamed into place (atomic on one
    filesystem)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.incoming = self.root / ".incoming"

    @staticmethod
    def new_key() -> str:
        h = uuid.uuid4().hex
        return f"{h[:2]}/{h[2:4]}/{h}"

    def path(self, key: str) -> Path:
        return self.root / key

    def thumbnail_path(self, key: str) -> Path:
        return self.root / f"{key}.thumb.jpg"

    def _temp(self) -> Path:
        self.incoming.mkdir(parents=True, exist_ok=True)
        return self.incoming / f"{uuid.uuid4().hex}.part"

    def spool(self, stream: BinaryIO, max_bytes: int, limit_text: str) -> Spooled:
        """Copy ``stream`` to a temporary file, counting and hashing; :class:`TooLarge`
        (and nothing left behind) once it passes ``max_bytes``."""
        temp = self._temp()
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            with temp.open("wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"The file is larger than the {limit_text} limit for "
                                       "attachments.", fields={"file": [f"At most {limit_text}."]})
                    if len(head) < SNIFF_BYTES:
                        head += chunk[:SNIFF_BYTES - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return Spooled(temp, size, digest.hexdigest(), head)

    def put_file(self, temp: Path, key: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)

    def put_thumbnail(self, key: str, data: bytes) -> None:
        temp = self._temp()
        with temp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        target = self.thumbnail_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)

    def remove(self, key: str) -> None:
        """Remove the file and its thumbnail; never raises (an orphan file is harmless)."""
        for p in (self.path(key), self.thumbnail_path(key)):
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass


# ---------------------------------------------------------------- filenames

_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*]')


def clean_filename(raw: str | None, file_type: FileType) -> str:
    """The client's file name made safe to store and to send back: no folders, no
    control or invisible (bidi) characters, at most 200 characters, and an extension
    that matches the content (``invoice.exe`` holding a PDF becomes ``invoice.exe.pdf``)."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(_UNSAFE_CHARS.sub("_", name).split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() not in file_type.extensions:
        stem, ext = name, file_type.extensions[0]
    stem = stem[:200].rstrip(" .") or "attachment"
    return f"{stem}.{ext}"


# ------------------------------------------------------------------ services

def target_for(targets: Mapping[str, AttachmentTarget], record_type: str) -> AttachmentTarget:
    target = targets.get(record_type)
    if target is None:
        known = ", ".join(sorted(targets)) or "none"
        raise Invalid(f"Nothing can be attached to a {record_type!r}.",
                      fields={"record_type": [f"Unknown record type; one of: {known}."]})
    return target


def _require(permissions: set[str], permission: str, what: str) -> None:
    if permission not in permissions:
        raise Forbidden(f"You need the permission {permission!r} to {what}.",
                        fields={"permission": permission})


def _check_record(session: Session, target: AttachmentTarget, record_id: int) -> None:
    if not target.exists(session, record_id):
        raise NotFound(f"No {target.record_type} {record_id}.",
                       code=f"{target.record_type}_not_found")


def size_limit_text(max_bytes: int) -> str:
    mb = max_bytes / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{max_bytes} bytes"


def add_attachment(session: Session, actor: User, *, targets: Mapping[str, AttachmentTarget],
                   permissions: set[str], storage: Storage, record_type: str, record_id: int,
                   stream: BinaryIO, filename: str | None, caption: str = "",
                   max_bytes: int) -> Attachment:
    """Attach the file read from ``stream`` to a record (audited). The record type must
    be registered (422), ``actor`` must hold its attach permission (403), the file must
    fit ``max_bytes`` (413), be of an allowed type by its content (415) and, for
    images, decode (422); the record must exist (404).

    The file is received, checked and thumbnailed before the session is first used, so
    a caller whose transaction has not begun yet holds no lock meanwhile (on SQLite a
    writing transaction holds the database's write lock)."""
    target = target_for(targets, record_type)
    _require(permissions, target.attach_permission, f"attach files to a {record_type}")
    spooled = storage.spool(stream, max_bytes, size_limit_text(max_bytes))
    key = storage.new_key()
    try:
        if spooled.size == 0:
            raise Invalid("The file is empty.", fields={"file": ["The file is empty."]})
        file_type = detect_type(spooled.path, spooled.head, filename or "")
        thumbnail = make_thumbnail(spooled.path, file_type) if file_type.pil_format else None
        _check_record(session, target, record_id)
        # From here on the files exist: a rollback of this unit of work removes them.
        after_rollback(session, lambda: storage.remove(key))
        if thumbnail is not None:
            storage.put_thumbnail(key, thumbnail)
        storage.put_file(spooled.path, key)
    finally:
        spooled.path.unlink(missing_ok=True)
    attachment = Attachment(
        record_type=record_type, record_id=record_id,
        filename=clean_filename(filename, file_type), content_type=file_type.content_type,
        size=spooled.size, sha256=spooled.sha256, caption=(caption or "").strip(),
        uploaded_by=actor.id, has_thumbnail=thumbnail is not None, storage_key=key)
    session.add(attachment)
    session.flush()
    audit.record(session, "attachment.added", actor=actor, record_type=record_type,
                 record_id=record_id, after=describe(attachment))
    return attachment


def describe(attachment: Attachment) -> dict[str, Any]:
    """What the audit log keeps about an attachment."""
    return {"attachment_id": attachment.id, "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size,
            "sha256": attachment.sha256, "caption": attachment.caption}


def list_attachments(session: Session, *, targets: Mapping[str, AttachmentTarget],
                     permissions: set[str], record_type: str, record_id: int, page: int,
                     per_page: int) -> Page:
    """A record's attachments, newest first, for users who may see the record."""
    target = target_for(targets, record_type)
    _require(permissions, target.view_permission, f"see a {record_type}'s attachments")
    _check_record(session, target, record_id)
    stmt = (select(Attachment)
            .where(Attachment.record_type == record_type, Attachment.record_id == record_id)
            .order_by(Attachment.id.desc()))
    return paginate(session, stmt, page, per_page)


def get_attachment(session: Session, attachment_id: int, *,
                   targets: Mapping[str, AttachmentTarget], permissions: set[str]) -> Attachment:
    """One attachment, for users who may see its record. One whose record type no
    enabled plugin registers any more is not served (404)."""
    attachment = session.get(Attachment, attachment_id)
    target = targets.get(attachment.record_type) if attachment is not None else None
    if attachment is None or target is None:
        raise NotFound(f"No attachment {attachment_id}.", code="attachment_not_found")
    _require(permissions, target.view_permission,
             f"see a {attachment.record_type}'s attachments")
    return attachment


def delete_attachment(session: Session, actor: User, attachment: Attachment,
                      storage: Storage) -> None:
    """Delete an attachment (audited); its files go once the deletion has committed."""
    before = describe(attachment)
    key = attachment.storage_key
    session.delete(attachment)
    session.flush()
    audit.record(session, "attachment.deleted", actor=actor,
                 record_type=attachment.record_type, record_id=attachment.record_id,
                 before=before)
    after_commit(session, lambda: storage.remove(key))


def repoint_attachments(session: Session, record_type: str, from_id: int, to_id: int) -> int:
    """Move a record's attachments to another record of the same type (a merge)."""
    return session.execute(
        update(Attachment)
        .where(Attachment.record_type == record_type, Attachment.record_id == from_id)
        .values(record_id=to_id).execution_options(synchronize_session="fetch")).rowcount


# --------------------------------------------------------- the kernel's targets

def record_exists(model: type) -> Any:
    """``exists(session, record_id)`` for a model whose rows are the records."""
    def exists(session: Session, record_id: int) -> bool:
        return session.get(model, record_id) is not None
    return exists


def kernel_targets() -> list[AttachmentTarget]:
    from core.records.catalog import Product
    from core.records.items import Item
    from core.records.parties import Customer, Vendor
    return [
        AttachmentTarget("customer", "core.customers.view", "core.customers.edit",
                         record_exists(Customer), "Customer"),
        AttachmentTarget("vendor", "core.vendors.view", "core.vendors.edit",
                         record_exists(Vendor), "Vendor"),
        AttachmentTarget("product", "core.products.view", "core.products.edit",
                         record_exists(Product), "Product"),
        AttachmentTarget("item", "core.items.view", "core.items.edit",
                         record_exists(Item), "Unit"),
    ]
