"""The printers API: validation, permissions, settings changes."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest


def test_create_and_read_a_printer(api: Any) -> None:
    resp = api.post("devices/printers", json={"name": "Front counter", "uri": "tcp://10.0.0.50",
                                              "profile": "TM-T20II"})
    assert resp.status_code == 201
    printer = resp.get_json()
    assert printer["columns"] == 48 and printer["encoding"] == "auto" and printer["codepage"] == "CP858"
    assert printer["active"] is True and printer["location_id"] is None
    assert api.get(f"devices/printers/{printer['id']}").get_json() == printer
    assert [p["name"] for p in api.get("devices/printers").get_json()] == ["Front counter"]
    entries = api.get("audit").get_json()["items"]
    assert any(e["action"] == "devices.printer.created" for e in entries)


@pytest.mark.parametrize("body,field", [
    ({"uri": "http://printer"}, "uri"),
    ({"uri": "tcp://"}, "uri"),
    ({"uri": "tcp://host:70000"}, "uri"),
    ({"uri": "usb://epson"}, "uri"),
    ({"uri": "serial:/dev/ttyS0?baudrate=12345"}, "uri"),
    ({"uri": "file:../../etc/passwd"}, "uri"),
    ({"uri": "dummy:", "profile": "TM-NOPE"}, "profile"),
    ({"uri": "dummy:", "profile": "simple", "encoding": "CP858"}, "encoding"),
    ({"uri": "dummy:", "encoding": "UTF-8"}, "encoding"),
    ({"uri": "dummy:", "columns": 500}, "columns"),
    ({"uri": "dummy:", "location_id": 999}, "location_id"),
    ({"uri": "dummy:", "location_id": 2**64}, "location_id"),
])
def test_bad_printer_settings_are_422(api: Any, body: dict, field: str) -> None:
    resp = api.post("devices/printers", json={"name": "Bad", **body})
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert field in error["fields"] and error["fields"][field]
    assert api.get("devices/printers").get_json() == []


def test_ids_beyond_64_bits_are_422_not_500(api: Any, make_printer: Callable) -> None:
    """The fuzzer's find: a huge id reached SQLite ("Python int too large")."""
    printer = make_printer("dummy:")
    for resp in (api.get(f"devices/jobs?printer_id={2**64}"),
                 api.get(f"devices/jobs?printer_id={2**63}"),
                 api.patch(f"devices/printers/{printer['id']}", json={"location_id": 2**64})):
        assert resp.status_code == 422, resp.get_json()
    assert api.get("devices/jobs?printer_id=1").status_code == 200


def test_duplicate_name_is_409(api: Any, make_printer: Callable) -> None:
    make_printer(name="Till 1")
    resp = api.post("devices/printers", json={"name": "till 1", "uri": "dummy:"})
    assert resp.status_code == 409


def test_patch_printer(api: Any, make_printer: Callable) -> None:
    printer = make_printer("dummy:")
    resp = api.patch(f"devices/printers/{printer['id']}", json={"profile": "TM-T20II", "encoding": "CP437"})
    assert resp.status_code == 200
    assert resp.get_json()["columns"] == 48 and resp.get_json()["codepage"] == "CP437"
    resp = api.patch(f"devices/printers/{printer['id']}", json={"uri": "nope"})
    assert resp.status_code == 422 and "uri" in resp.get_json()["error"]["fields"]
    assert api.patch("devices/printers/9999", json={"active": False}).status_code == 404
    assert api.post("devices/printers/9999/test").status_code == 404
    assert api.post("devices/printers/9999/drawer", json={}).status_code == 404


def test_a_printer_at_a_location(api: Any) -> None:
    location = api.post("locations", json={"name": "Main store", "kind": "store"}).get_json()
    resp = api.post("devices/printers", json={"name": "Main", "uri": "dummy:", "location_id": location["id"]})
    assert resp.status_code == 201 and resp.get_json()["location_id"] == location["id"]


def test_profiles(api: Any) -> None:
    profiles = {p["name"]: p for p in api.get("devices/profiles").get_json()}
    assert profiles["TM-T88V"]["columns"] == 42 and profiles["TM-T88V"]["features"]["qrCode"] is True
    assert profiles["simple"]["codepages"] == ["CP437"]


@pytest.mark.parametrize("role,method,path,expected", [
    ("cashier", "post", "devices/printers", 403),
    ("technician", "post", "devices/printers", 403),
    ("manager", "post", "devices/printers", 201),
    ("read_only", "get", "devices/printers", 200),
    ("cashier", "post", "devices/printers/{id}/drawer", 202),
    ("technician", "post", "devices/printers/{id}/drawer", 403),
    ("read_only", "post", "devices/printers/{id}/test", 403),
    ("technician", "post", "devices/printers/{id}/test", 202),
    ("cashier", "patch", "devices/printers/{id}", 403),
    ("technician", "get", "devices/jobs", 403),
    ("cashier", "get", "devices/jobs", 200),
])
def test_permissions(api_as: Callable, make_printer: Callable, role: str, method: str, path: str,
                     expected: int) -> None:
    printer = make_printer("dummy:")
    client = api_as(role)
    body = {"name": f"New {role}", "uri": "dummy:"} if path == "devices/printers" else {}
    call = getattr(client, method)
    resp = call(path.format(id=printer["id"]), json=body) if method != "get" else call(path)
    assert resp.status_code == expected, resp.get_json()


def test_signed_out_is_401(client: Any) -> None:
    assert client.get("/api/v1/devices/printers").status_code == 401


def test_jobs_list_and_filters(api: Any, make_printer: Callable, wait_jobs: Callable) -> None:
    a, b = make_printer("dummy:"), make_printer("dummy:")
    for printer in (a, b, a):
        assert api.post(f"devices/printers/{printer['id']}/test").status_code == 202
    wait_jobs()
    listing = api.get(f"devices/jobs?printer_id={a['id']}").get_json()
    assert listing["total"] == 2 and all(j["status"] == "done" for j in listing["items"])
    assert listing["items"][0]["id"] > listing["items"][1]["id"]       # newest first
    assert api.get("devices/jobs?status=bogus").status_code == 422
    assert api.get("devices/jobs/9999").status_code == 404


def test_openapi_describes_the_devices_api(api: Any) -> None:
    doc = api.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/devices/printers", "/api/v1/devices/printers/{printer_id}/test",
                 "/api/v1/devices/printers/{printer_id}/drawer", "/api/v1/devices/jobs"):
        assert path in doc["paths"], sorted(doc["paths"])


# ---------------------------------------------- file printers write only in the instance

@pytest.fixture
def instance(runtime: Any, tmp_path: Path) -> Path:
    """The app's instance folder, with ``out`` a link to a folder outside it."""
    inside = Path(runtime.config.instance_path)
    inside.mkdir(parents=True, exist_ok=True)
    (tmp_path / "outside").mkdir()
    (inside / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    return inside


REFUSED_FILE_URIS = [
    "file:/etc/cron.d/counterdesk",
    "file:///etc/cron.d/counterdesk",
    "file:{outside}/till1.bin",
    "file:{outside}/",
    "file:receipts/../../x.bin",
    "file:out/till1.bin",                # a link inside that leads out
    "file:out/",
    "file:{instance}/out/till1.bin",
]


@pytest.mark.parametrize("uri", REFUSED_FILE_URIS)
def test_a_file_printer_outside_the_instance_folder_is_422(api: Any, instance: Path,
                                                           uri: str) -> None:
    uri = uri.format(instance=instance, outside=instance.parent / "outside")
    resp = api.post("devices/printers", json={"name": "Sneaky", "uri": uri})
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert list(error["fields"]) == ["uri"] and error["fields"]["uri"][0]
    assert api.get("devices/printers").get_json() == []


@pytest.mark.parametrize("uri", REFUSED_FILE_URIS)
def test_changing_a_printer_to_a_file_outside_is_422(api: Any, make_printer: Callable,
                                                     instance: Path, uri: str) -> None:
    printer = make_printer("file:receipts/")
    uri = uri.format(instance=instance, outside=instance.parent / "outside")
    resp = api.patch(f"devices/printers/{printer['id']}", json={"uri": uri})
    assert resp.status_code == 422, resp.get_json()
    assert list(resp.get_json()["error"]["fields"]) == ["uri"]
    assert api.get(f"devices/printers/{printer['id']}").get_json()["uri"] == "file:receipts/"


@pytest.mark.parametrize("uri", [
    "file:receipts/", "file:receipts/till1.bin", "file:{instance}/receipts/till1.bin",
    "file://{instance}/receipts/", "file:{instance}/",
])
def test_a_file_printer_inside_the_instance_folder_is_accepted(api: Any, instance: Path,
                                                               uri: str) -> None:
    uri = uri.format(instance=instance)
    resp = api.post("devices/printers", json={"name": "Counter", "uri": uri})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["uri"] == uri
