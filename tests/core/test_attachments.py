"""Attachments through the HTTP API: upload, type checks by content, size limits,
thumbnails, who may see what, rollback without orphans, audited deletion, and plugins
adding record types. Runs on SQLite and PostgreSQL (tests/core/conftest.py)."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Callable

import pytest
from PIL import Image

from core import AttachmentTarget, Manifest, Permission, hookimpl
from core.errors import PluginError

PNG_SIZE = (800, 600)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = PNG_SIZE, mode: str = "RGB") -> bytes:
    img = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128))
    for x in range(0, size[0], 10):           # some detail, so it is not a trivial image
        blue = (0, 0, 255) if mode == "RGB" else (0, 0, 255, 255)
        img.putpixel((x, x * size[1] // size[0]), blue)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def upload(client: Any, record_type: str, record_id: Any, data: bytes, filename: str,
           caption: str | None = None) -> Any:
    form: dict[str, Any] = {"record_type": record_type, "record_id": str(record_id),
                            "file": (io.BytesIO(data), filename)}
    if caption is not None:
        form["caption"] = caption
    return client.post("attachments", data=form, content_type="multipart/form-data")


def count(api: Any, customer_id: int) -> int:
    return api.get(f"attachments?record_type=customer&record_id={customer_id}").json["total"]


def stored_files(runtime: Any) -> list[Path]:
    root = Path(runtime.config.attachments_path)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def customer(api: Any) -> dict:
    r = api.post("customers", json={"name": "Jane Doe", "phone": "555 010 2030"})
    assert r.status_code == 201, r.json
    return r.json


@pytest.fixture
def item(api: Any) -> dict:
    product = api.post("products", json={"sku": "BIKE-1", "name": "Road bike", "price": "900.00",
                                         "serialized": True}).json
    customer = api.post("customers", json={"name": "Owner"}).json
    r = api.post("items", json={"product_id": product["id"], "serial": "WTU123",
                                "status": "customer_owned", "owner_id": customer["id"]})
    assert r.status_code == 201, r.json
    return r.json


# ------------------------------------------------------------------ uploads

def test_png_upload_has_thumbnail_and_downloads_the_same_bytes(api: Any, runtime: Any,
                                                               customer: dict) -> None:
    data = image_bytes("PNG")
    r = upload(api, "customer", customer["id"], data, "front door.png", caption="Scratch")
    assert r.status_code == 201, r.json
    meta = r.json
    assert meta["record_type"] == "customer" and meta["record_id"] == customer["id"]
    assert meta["filename"] == "front door.png" and meta["content_type"] == "image/png"
    assert meta["size"] == len(data) and meta["caption"] == "Scratch"
    assert meta["has_thumbnail"] is True
    assert meta["thumbnail_url"] == f"/api/v1/attachments/{meta['id']}/thumbnail"
    import hashlib
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()

    content = api.get(meta["content_url"])
    assert content.status_code == 200
    assert content.data == data
    assert content.mimetype == "image/png"
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["Content-Disposition"].startswith("inline")
    assert "front door.png" in content.headers["Content-Disposition"]

    thumb = api.get(meta["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(thumb.data)) as img:
        img.load()
        assert img.format == "JPEG" and max(img.size) <= 320 and img.size == (320, 240)

    assert api.get(f"attachments/{meta['id']}").json == meta
    listed = api.get(f"attachments?record_type=customer&record_id={customer['id']}").json
    assert [a["id"] for a in listed["items"]] == [meta["id"]] and listed["total"] == 1
    # Stored outside the database, under the instance's attachments folder.
    files = stored_files(runtime)
    assert len(files) == 2 and any(f.read_bytes() == data for f in files)
    assert all(Path(runtime.config.attachments_path) in f.parents for f in files)


def test_jpeg_photo_of_a_unit(api: Any, item: dict) -> None:
    data = image_bytes("JPEG", (2000, 1000))
    r = upload(api, "item", item["id"], data, "serial-plate.JPG")
    assert r.status_code == 201, r.json
    assert r.json["content_type"] == "image/jpeg" and r.json["filename"] == "serial-plate.JPG"
    with Image.open(io.BytesIO(api.get(r.json["thumbnail_url"]).data)) as img:
        assert img.size == (320, 160)
    assert api.get(r.json["content_url"]).data == data


def test_transparent_png_thumbnail_is_flattened(api: Any, customer: dict) -> None:
    r = upload(api, "customer", customer["id"], image_bytes("PNG", (100, 50), "RGBA"), "a.png")
    assert r.status_code == 201, r.json
    with Image.open(io.BytesIO(api.get(r.json["thumbnail_url"]).data)) as img:
        assert img.mode == "RGB" and img.size == (100, 50)   # never enlarged


@pytest.mark.parametrize("data,filename,content_type,disposition", [
    (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n", "invoice.pdf",
     "application/pdf", "inline"),
    ("serial,model\nWTU123,Road bike café\n".encode(), "units.csv", "text/csv", "attachment"),
    (b"Customer says: rattles at 30 km/h.\r\n", "notes.txt", "text/plain", "attachment"),
])
def test_documents_are_typed_by_content(api: Any, customer: dict, data: bytes, filename: str,
                                        content_type: str, disposition: str) -> None:
    r = upload(api, "customer", customer["id"], data, filename)
    assert r.status_code == 201, r.json
    assert r.json["content_type"] == content_type and r.json["has_thumbnail"] is False
    assert r.json["thumbnail_url"] is None
    content = api.get(r.json["content_url"])
    assert content.data == data and content.mimetype == content_type
    assert content.headers["Content-Disposition"].startswith(disposition)
    assert api.get(f"attachments/{r.json['id']}/thumbnail").status_code == 404


def test_name_follows_the_content(api: Any, customer: dict) -> None:
    """A PDF called invoice.exe is stored as invoice.exe.pdf; folders and invisible
    characters are dropped from names."""
    pdf = b"%PDF-1.7\n%%EOF\n"
    r = upload(api, "customer", customer["id"], pdf, "invoice.exe")
    assert r.json["filename"] == "invoice.exe.pdf" and r.json["content_type"] == "application/pdf"
    r = upload(api, "customer", customer["id"], image_bytes(), "..\\..\\evil\u202egnp.png")
    assert r.status_code == 201 and r.json["filename"] == "evilgnp.png"


def test_clean_filename() -> None:
    from core.attachments import FILE_TYPES, clean_filename
    png, txt = FILE_TYPES["image/png"], FILE_TYPES["text/plain"]
    assert clean_filename("/etc/passwd", txt) == "passwd.txt"
    assert clean_filename("", png) == "attachment.png"
    assert clean_filename("  ..  ", png) == "attachment.png"
    assert clean_filename('a<b>:"c|?*.PNG', png) == "a_b___c___.PNG"
    assert clean_filename("x" * 300 + ".png", png) == "x" * 200 + ".png"


# ------------------------------------------------------------ refused files

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
PE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
SCRIPT = b"#!/bin/sh\nrm -rf / --no-preserve-root\n"


@pytest.mark.parametrize("data,kind", [(ELF, "Linux program"), (PE, "Windows program"),
                                       (SCRIPT, "script"), (b"\xef\xbb\xbf" + SCRIPT, "script")])
def test_renamed_program_is_refused(api: Any, runtime: Any, customer: dict, data: bytes,
                                    kind: str) -> None:
    r = upload(api, "customer", customer["id"], data, "photo.jpg")
    assert r.status_code == 415, r.json
    assert r.json["error"]["code"] == "unsupported_type"
    message = r.json["error"]["message"]
    assert kind in message and "not an allowed type" in message
    assert "file" in r.json["error"]["fields"]
    assert count(api, customer["id"]) == 0
    assert stored_files(runtime) == []


def test_unknown_binary_is_refused(api: Any, runtime: Any, customer: dict) -> None:
    zip_ = b"PK\x03\x04\x14\x00\x00\x00" + os.urandom(300)
    r = upload(api, "customer", customer["id"], zip_, "photo.jpg")
    assert r.status_code == 415 and "not an allowed type" in r.json["error"]["message"]
    assert stored_files(runtime) == []


@pytest.mark.parametrize("data,name", [
    (image_bytes("PNG")[:-200], "cut.png"),                       # truncated PNG
    (image_bytes("JPEG")[:400], "cut.jpg"),                       # truncated JPEG
    (b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 50, "fake.jpg"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "fake.png"),
    (b"GIF89a" + b"\x01" * 20, "fake.gif"),
])
def test_damaged_image_is_refused(api: Any, runtime: Any, customer: dict, data: bytes,
                                  name: str) -> None:
    r = upload(api, "customer", customer["id"], data, name)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "image_damaged"
    assert "damaged" in r.json["error"]["message"]
    assert stored_files(runtime) == []


def test_empty_and_missing_file(api: Any, customer: dict) -> None:
    r = upload(api, "customer", customer["id"], b"", "empty.txt")
    assert r.status_code == 422 and "empty" in r.json["error"]["message"]
    r = api.post("attachments", data={"record_type": "customer", "record_id": customer["id"]},
                 content_type="multipart/form-data")
    assert r.status_code == 422 and "file" in r.json["error"]["fields"]
    r = api.post("attachments", json={"record_type": "customer", "record_id": customer["id"]})
    assert r.status_code == 422
    assert set(r.json["error"]["fields"]) >= {"file", "record_type", "record_id"}


def test_oversized_file_is_refused_with_413(api: Any, runtime: Any, customer: dict) -> None:
    assert api.put("settings/core", json={"values": {"attachments_max_mb": 1}}).status_code == 200
    mb = 1024 * 1024
    # Caught while streaming (the request itself is within the limit plus form overhead)...
    r = upload(api, "customer", customer["id"], b"a" * (mb + 1), "big.txt")
    assert r.status_code == 413, r.json
    assert r.json["error"]["code"] == "too_large" and "1 MB" in r.json["error"]["message"]
    # ...and from the request's Content-Length before the body is read.
    r = upload(api, "customer", customer["id"], b"a" * (2 * mb), "bigger.txt")
    assert r.status_code == 413, r.json
    assert r.json["error"]["code"] == "too_large" and "1 MB" in r.json["error"]["message"]
    assert stored_files(runtime) == []
    assert upload(api, "customer", customer["id"], b"a" * mb, "fits.txt").status_code == 201


def test_default_limit_is_15_mb(api: Any, customer: dict) -> None:
    r = upload(api, "customer", customer["id"], b"a" * (15 * 1024 * 1024 + 1), "big.txt")
    assert r.status_code == 413 and "15 MB" in r.json["error"]["message"]


def test_request_over_max_content_length_answers_in_the_error_shape(app: Any, api: Any) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    r = api.post("customers", json={"name": "x" * 5000})
    assert r.status_code == 413
    assert set(r.json["error"]) == {"code", "message", "fields"}


def test_unknown_record_type_and_missing_record(api: Any, customer: dict) -> None:
    r = upload(api, "spaceship", 1, image_bytes(), "a.png")
    assert r.status_code == 422 and "record_type" in r.json["error"]["fields"]
    assert "customer" in r.json["error"]["fields"]["record_type"][0]
    r = upload(api, "customer", customer["id"] + 1000, image_bytes(), "a.png")
    assert r.status_code == 404 and r.json["error"]["code"] == "customer_not_found"
    r = api.get(f"attachments?record_type=customer&record_id={customer['id'] + 1000}")
    assert r.status_code == 404
    assert api.get("attachments?record_type=spaceship&record_id=1").status_code == 422
    assert api.get("attachments?record_type=customer").status_code == 422
    for path in ("attachments/999999", "attachments/999999/content",
                 "attachments/999999/thumbnail"):
        assert api.get(path).status_code == 404
    assert api.delete("attachments/999999").status_code == 404


# ------------------------------------------------------------- who may see

@pytest.fixture
def photo(api: Any, customer: dict) -> dict:
    r = upload(api, "customer", customer["id"], image_bytes(), "photo.png")
    assert r.status_code == 201, r.json
    return r.json


def test_no_login_is_401(client: Any, photo: dict) -> None:
    for path in (f"/api/v1/attachments/{photo['id']}", photo["content_url"], photo["thumbnail_url"],
                 f"/api/v1/attachments?record_type=customer&record_id={photo['record_id']}"):
        r = client.get(path)
        assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert client.delete(f"/api/v1/attachments/{photo['id']}").status_code == 401
    r = client.post("/api/v1/attachments", data={"record_type": "customer",
                                                 "record_id": photo["record_id"],
                                                 "file": (io.BytesIO(image_bytes()), "a.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 401


def test_without_the_records_view_permission_is_403(api: Any, api_as: Callable[..., Any],
                                                    photo: dict) -> None:
    # A role-less user is signed in but may not see customers.
    stranger = api_as()
    for path in (f"attachments/{photo['id']}", photo["content_url"], photo["thumbnail_url"],
                 f"attachments?record_type=customer&record_id={photo['record_id']}"):
        r = stranger.get(path)
        assert r.status_code == 403, path
        assert r.json["error"]["fields"]["permission"] == "core.customers.view"
    # Taking the permission from a role closes the door to its attachments too.
    assert api_as("read_only").get(photo["content_url"]).status_code == 200
    perms = api.get("roles").json
    read_only = next(r for r in perms if r["name"] == "read_only")["permissions"]
    r = api.put("roles/read_only/permissions",
                json={"permissions": [p for p in read_only if p != "core.customers.view"]})
    assert r.status_code == 200, r.json
    assert api_as("read_only").get(photo["content_url"]).status_code == 403


@pytest.mark.parametrize("role,status", [("cashier", 201), ("technician", 201),
                                          ("read_only", 403), ("finance", 403)])
def test_uploading_needs_the_records_attach_permission(api_as: Callable[..., Any], customer: dict,
                                                       role: str, status: int) -> None:
    r = upload(api_as(role), "customer", customer["id"], image_bytes(), "a.png")
    assert r.status_code == status, r.json
    if status == 403:
        assert r.json["error"]["fields"]["permission"] == "core.customers.edit"


# --------------------------------------------------------- unit of work

def test_rolled_back_upload_leaves_no_row_and_no_file(api: Any, runtime: Any, customer: dict,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is written before the row commits; when the unit of work fails after
    that (here: writing the audit entry), the row is rolled back and the file removed."""
    from core import attachments

    def failing_record(*a: Any, **kw: Any) -> None:
        raise RuntimeError("the audit log is unavailable")
    monkeypatch.setattr(attachments.audit, "record", failing_record)
    r = upload(api, "customer", customer["id"], image_bytes(), "a.png")
    assert r.status_code == 500
    monkeypatch.undo()
    assert count(api, customer["id"]) == 0
    assert stored_files(runtime) == []


def test_upload_is_received_outside_a_transaction(api: Any, customer: dict,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """No lock is held while a (slow) client's file comes in and is checked: on SQLite
    a writing transaction would block every other writer meanwhile."""
    from flask import g

    from core.attachments import Storage
    seen: list[bool] = []
    spool = Storage.spool

    def spy(self: Storage, *a: Any, **kw: Any) -> Any:
        seen.append(g.session.in_transaction())
        return spool(self, *a, **kw)
    monkeypatch.setattr(Storage, "spool", spy)
    assert upload(api, "customer", customer["id"], image_bytes(), "a.png").status_code == 201
    assert seen == [False]


def test_service_rollback_removes_files(runtime: Any, customer: dict) -> None:
    """The same in a unit of work outside a request (a job or a CLI command)."""
    from sqlalchemy import func, select

    from core.attachments import Attachment, Storage, add_attachment
    from core.models import User
    with pytest.raises(RuntimeError):
        with runtime.unit_of_work() as s:
            actor = s.scalar(select(User).where(User.username == "root"))
            add_attachment(s, actor, targets=runtime.registry.attachment_targets,
                           permissions=runtime.permissions_of(actor),
                           storage=Storage(runtime.config.attachments_path),
                           record_type="customer", record_id=customer["id"],
                           stream=io.BytesIO(image_bytes()), filename="a.png", max_bytes=10**7)
            assert len(stored_files(runtime)) == 2
            raise RuntimeError("something later in the unit of work failed")
    assert stored_files(runtime) == []
    with runtime.unit_of_work(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0


# ---------------------------------------------------------------- deletion

def test_delete_is_audited_and_removes_the_files(api: Any, api_as: Callable[..., Any],
                                                 runtime: Any, photo: dict) -> None:
    assert api_as("cashier").delete(f"attachments/{photo['id']}").status_code == 403
    assert len(stored_files(runtime)) == 2
    r = api_as("manager").delete(f"attachments/{photo['id']}")
    assert r.status_code == 204
    assert api.get(f"attachments/{photo['id']}").status_code == 404
    assert api.get(photo["content_url"]).status_code == 404
    assert stored_files(runtime) == []
    entries = api.get("audit?per_page=200").json["items"]
    deleted = [e for e in entries if e["action"] == "attachment.deleted"]
    assert len(deleted) == 1
    assert deleted[0]["record_type"] == "customer"
    assert deleted[0]["record_id"] == str(photo["record_id"])
    assert deleted[0]["before"]["sha256"] == photo["sha256"]
    assert deleted[0]["actor_name"].startswith("manager")
    assert any(e["action"] == "attachment.added" for e in entries)
    assert api.get("audit/verify").json["ok"] is True


def test_merged_customers_attachments_follow(api: Any, photo: dict) -> None:
    keep = api.post("customers", json={"name": "Jane Doe"}).json
    r = api.post(f"customers/{keep['id']}/merge", json={"from_id": photo["record_id"]})
    assert r.status_code == 200, r.json
    moved = api.get(f"attachments?record_type=customer&record_id={keep['id']}").json
    assert [a["id"] for a in moved["items"]] == [photo["id"]]


# ---------------------------------------------------- plugins add record types

class Gadgets:
    """A throwaway plugin whose gadgets (ids 1 to 3) take attachments."""
    manifest = Manifest(name="gadgets", version="1.0.0", title="Gadgets")

    @hookimpl
    def register_permissions(self) -> list[Permission]:
        return [Permission("gadgets.gadget.view", "See gadgets"),
                Permission("gadgets.gadget.edit", "Edit gadgets")]

    @hookimpl
    def register_attachment_targets(self) -> list[AttachmentTarget]:
        return [AttachmentTarget("gadget", "gadgets.gadget.view", "gadgets.gadget.edit",
                                 lambda session, record_id: 1 <= record_id <= 3)]


def test_a_plugin_adds_a_record_type(app_factory: Callable[..., Any], make_user: Any) -> None:
    from tests.conftest import ApiClient
    app = app_factory(plugins=(Gadgets(),))
    client = ApiClient(app.test_client(), None)
    from core.auth import create_user, issue_token
    rt = app.extensions["counterdesk"]
    with rt.unit_of_work() as s:
        user = create_user(s, username="boss", password="correct horse battery", roles=["admin"],
                           actor=None, password_method="pbkdf2:sha256:1000")
        client.token = issue_token(s, user)[1]
    assert "gadget" in rt.registry.attachment_targets
    r = upload(client, "gadget", 2, image_bytes(), "gadget.png")
    assert r.status_code == 201, r.json
    assert upload(client, "gadget", 7, image_bytes(), "gadget.png").status_code == 404


def test_start_up_refuses_bad_targets(app_factory: Callable[..., Any]) -> None:
    class Twice(Gadgets):
        @hookimpl
        def register_attachment_targets(self) -> list[AttachmentTarget]:
            return [AttachmentTarget("customer", "gadgets.gadget.view", "gadgets.gadget.edit",
                                     lambda s, i: True)]

    class Undeclared(Gadgets):
        @hookimpl
        def register_attachment_targets(self) -> list[AttachmentTarget]:
            return [AttachmentTarget("gadget", "gadgets.gadget.fly", "gadgets.gadget.edit",
                                     lambda s, i: True)]
    with pytest.raises(PluginError, match="'customer' is declared by both 'core' and 'gadgets'"):
        app_factory(plugins=(Twice(),))
    with pytest.raises(PluginError, match="gadgets.gadget.fly"):
        app_factory(plugins=(Undeclared(),))
    with pytest.raises(ValueError, match="snake_case"):
        AttachmentTarget("Bad Type", "a.b.c", "a.b.c", lambda s, i: True)


# ------------------------------------------------------------------ OpenAPI

def test_openapi_describes_the_multipart_upload_and_downloads(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json
    post = doc["paths"]["/api/v1/attachments"]["post"]
    body = post["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    schema = doc["components"]["schemas"][body["multipart/form-data"]["schema"]["$ref"]
                                          .rsplit("/", 1)[-1]]
    assert schema["properties"]["file"] == {"type": "string", "format": "binary",
                                            "description": "The photo or document."}
    assert set(schema["required"]) == {"file", "record_type", "record_id"}
    assert {"201", "401", "403", "404", "413", "415", "422"} <= set(post["responses"])
    assert post["responses"]["413"] == {"$ref": "#/components/responses/TooLarge"}
    content = doc["paths"]["/api/v1/attachments/{attachment_id}/content"]["get"]
    assert {"image/jpeg", "image/png", "application/pdf", "text/plain"} <= set(
        content["responses"]["200"]["content"])
    thumb = doc["paths"]["/api/v1/attachments/{attachment_id}/thumbnail"]["get"]
    assert list(thumb["responses"]["200"]["content"]) == ["image/jpeg"]
