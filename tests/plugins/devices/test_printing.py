"""Printing end to end: the API and the print_document hook, through the outbox, to
a real TCP listener, a file, or a dummy printer."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import select, update

from core import ReceiptDocument

from plugins.devices.models import PrintJob
from tests.plugins.devices.conftest import sale_document
from tests.plugins.devices.escpos_decode import decode


def _print_via_hook(runtime: Any, document: ReceiptDocument, printer_id: int | None) -> int | None:
    with runtime.unit_of_work() as s:
        return runtime.hook.print_document(session=s, document=document, printer_id=printer_id,
                                           actor=None)


def test_a_network_printer_receives_the_receipt(runtime: Any, make_printer: Callable, printer_listener: Any,
                                                wait_jobs: Callable, api: Any) -> None:
    printer = make_printer(printer_listener.uri, profile="TM-T88V")
    job_id = _print_via_hook(runtime, sale_document(open_drawer=True), printer["id"])
    wait_jobs()
    [raw] = printer_listener.wait_for(1)
    out = decode(raw)
    kinds = out.kinds()
    assert kinds[:2] == ["init", "codepage"] and out.events[1].value == 19
    assert "José Müller-Peña" in out.text and "€1,024.90" in out.text
    assert "é".encode("cp858") + b" M" + "ü".encode("cp858") in raw
    assert out.barcodes() == [(73, b"{BS-000123")]
    assert kinds.index("barcode") < kinds.index("cut") < kinds.index("pulse")
    job = api.get(f"devices/jobs/{job_id}").get_json()
    assert job["status"] == "done" and job["attempts"] == 1 and job["last_error"] is None
    assert job["printed_at"] and "José Müller-Peña" in job["text"]


def test_test_page(api: Any, make_printer: Callable, printer_listener: Any, wait_jobs: Callable) -> None:
    printer = make_printer(printer_listener.uri, profile="TM-T20II")
    resp = api.post(f"devices/printers/{printer['id']}/test")
    assert resp.status_code == 202 and resp.get_json()["kind"] == "test"
    wait_jobs()
    out = decode(printer_listener.wait_for(1)[0])
    assert printer["name"] in out.text and "Crème brûlée façon señor Müller" in out.text
    assert "1234567890" * 4 + "12345678" in out.lines()     # the 48-column ruler
    assert out.barcodes() == [(73, f"{{BTEST-{printer['id']}".encode())]
    assert out.qr_data() == [f"COUNTERDESK PRINTER {printer['id']}".encode()]
    assert "cut" in out.kinds() and "pulse" not in out.kinds()


def test_drawer_kick(api: Any, make_printer: Callable, printer_listener: Any, wait_jobs: Callable) -> None:
    printer = make_printer(printer_listener.uri)
    resp = api.post(f"devices/printers/{printer['id']}/drawer", json={"reason": "change for the float"})
    assert resp.status_code == 202 and resp.get_json()["kind"] == "drawer"
    wait_jobs()
    raw = printer_listener.wait_for(1)[0]
    assert decode(raw).kinds() == ["init", "codepage", "pulse"]
    assert raw.endswith(b"\x1bp\x00\x32\x32")
    entries = api.get("audit?action=devices.drawer.opened").get_json()["items"]
    assert [e["reason"] for e in entries if e["action"] == "devices.drawer.opened"] == ["change for the float"]


def test_open_cash_drawer_hook(runtime: Any, make_printer: Callable, printer_listener: Any,
                               wait_jobs: Callable) -> None:
    printer = make_printer(printer_listener.uri)
    with runtime.unit_of_work() as s:
        assert runtime.hook.open_cash_drawer(session=s, printer_id=printer["id"], actor=None)
    wait_jobs()
    assert decode(printer_listener.wait_for(1)[0]).of("pulse")


def test_a_refused_printer_is_retried_then_failed_with_its_error(
        runtime: Any, make_printer: Callable, refused_uri: str, wait_jobs: Callable, api: Any) -> None:
    from core.jobs import run_job
    from core.models import OutboxJob
    printer = make_printer(refused_uri)
    job_id = _print_via_hook(runtime, sale_document(), printer["id"])
    wait_jobs()
    job = api.get(f"devices/jobs/{job_id}").get_json()
    assert job["status"] == "queued" and job["attempts"] == 1
    assert "refused" in job["last_error"].lower()
    with runtime.unit_of_work(write=False) as s:
        outbox = s.scalar(select(OutboxJob).where(OutboxJob.name == "devices.print"))
        assert outbox.status == "pending" and outbox.max_attempts == 4
    outbox_id = outbox.id
    statuses = []
    for _ in range(3):   # the retries, without waiting out the backoff
        with runtime.unit_of_work() as s:
            s.execute(update(OutboxJob).where(OutboxJob.id == outbox_id)
                      .values(run_after=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
        statuses.append(run_job(runtime, outbox_id))
    assert statuses == ["pending", "pending", "failed"]
    job = api.get(f"devices/jobs/{job_id}").get_json()
    assert job["status"] == "failed" and job["attempts"] == 4
    assert "refused" in job["last_error"].lower()
    with runtime.unit_of_work(write=False) as s:
        outbox = s.get(OutboxJob, outbox_id)
        assert outbox.status == "failed" and "refused" in outbox.last_error.lower()
    failed = api.get("devices/jobs?status=failed").get_json()
    assert [j["id"] for j in failed["items"]] == [job_id]


def test_a_rolled_back_sale_prints_nothing(runtime: Any, make_printer: Callable, wait_jobs: Callable) -> None:
    printer = make_printer("dummy:")
    with pytest.raises(RuntimeError):
        with runtime.unit_of_work() as s:
            runtime.hook.print_document(session=s, document=sale_document(), printer_id=printer["id"],
                                        actor=None)
            raise RuntimeError("the sale failed")
    wait_jobs()
    with runtime.unit_of_work(write=False) as s:
        assert s.scalars(select(PrintJob)).all() == []


def test_dummy_printer_keeps_the_bytes(runtime: Any, api: Any, make_printer: Callable,
                                       wait_jobs: Callable) -> None:
    printer = make_printer("dummy:", profile="simple")
    job_id = _print_via_hook(runtime, sale_document(), printer["id"])
    wait_jobs()
    assert api.get(f"devices/jobs/{job_id}").get_json()["output_bytes"] > 0
    with runtime.unit_of_work(write=False) as s:
        out = decode(s.get(PrintJob, job_id).output)
    assert out.of("codepage")[0].value == 0 and "José Müller-Peña" in out.text   # CP437 only
    assert out.rasters() and not out.barcodes()                                  # image barcode


def test_file_printers(runtime: Any, make_printer: Callable, wait_jobs: Callable) -> None:
    folder = make_printer("file:receipts/")
    spool = Path(runtime.config.instance_path) / "spool" / "receipts.bin"   # absolute, inside
    appender = make_printer(f"file:{spool}")
    first = _print_via_hook(runtime, sale_document(), folder["id"])
    _print_via_hook(runtime, sale_document(), appender["id"])
    _print_via_hook(runtime, sale_document(title="Copy"), appender["id"])
    wait_jobs()
    written = Path(runtime.config.instance_path) / "receipts" / f"job-{first:06d}.bin"
    assert "José Müller-Peña" in decode(written.read_bytes()).text
    assert decode(spool.read_bytes()).kinds().count("init") == 2      # appended


def test_reprint_prints_the_same_document(api: Any, runtime: Any, make_printer: Callable,
                                          printer_listener: Any, wait_jobs: Callable) -> None:
    printer = make_printer(printer_listener.uri)
    job_id = _print_via_hook(runtime, sale_document(), printer["id"])
    wait_jobs()
    resp = api.post(f"devices/jobs/{job_id}/reprint")
    assert resp.status_code == 202 and resp.get_json()["id"] != job_id
    wait_jobs()
    first, second = printer_listener.wait_for(2)
    assert first == second


def test_default_printer(runtime: Any, make_printer: Callable, api: Any) -> None:
    assert _print_via_hook(runtime, sale_document(), None) is None        # no printer at all
    only = make_printer("dummy:")
    assert _print_via_hook(runtime, sale_document(), None) is not None    # the only one
    other = make_printer("dummy:")
    assert _print_via_hook(runtime, sale_document(), None) is None        # which one? none
    assert api.put("settings/devices", json={"values": {"default_printer_id": other["id"]}}).status_code == 200
    job_id = _print_via_hook(runtime, sale_document(), None)
    assert api.get(f"devices/jobs/{job_id}").get_json()["printer_id"] == other["id"]
    api.patch(f"devices/printers/{only['id']}", json={"active": False})
    assert _print_via_hook(runtime, sale_document(), only["id"]) is None  # inactive


def test_without_the_devices_plugin_nothing_prints(app: Any, tmp_path: Path) -> None:
    from core.config import Config
    from core.runtime import Runtime
    rt = Runtime(Config.load({"instance_path": str(tmp_path / "other"), "plugins": "none",
                              "database_url": app.extensions["counterdesk"].config.database_url}))
    try:
        with rt.unit_of_work() as s:
            assert rt.hook.print_document(session=s, document=sale_document(), printer_id=1,
                                          actor=None) is None
            assert rt.hook.open_cash_drawer(session=s, printer_id=1, actor=None) is None
    finally:
        rt.close()
