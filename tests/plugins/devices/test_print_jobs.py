"""The ``devices.print`` job itself, on SQLite and PostgreSQL: what it records on the
print job and the outbox, what it sends, and the transactions it takes."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import select, update

from core.documents import document_from_dict
from core.jobs import run_job
from core.models import OutboxJob

from plugins.devices.models import PrintJob
from plugins.devices.render import render_escpos
from tests.plugins.devices.conftest import sale_document
from tests.conftest import write_transactions
from tests.plugins.devices.escpos_decode import decode


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _print(runtime: Any, printer_id: int, **document: Any) -> int:
    with runtime.unit_of_work() as s:
        return runtime.hook.print_document(session=s, document=sale_document(**document),
                                           printer_id=printer_id, actor=None)


def _job(runtime: Any, job_id: int) -> PrintJob:
    with runtime.unit_of_work(write=False) as s:
        return s.get(PrintJob, job_id)


def _outbox(runtime: Any) -> OutboxJob:
    with runtime.unit_of_work(write=False) as s:
        return s.scalars(select(OutboxJob).where(OutboxJob.name == "devices.print")).one()


def _hand_over_again(runtime: Any, outbox_id: int) -> None:
    """Make the outbox row runnable again, as a duplicate hand-over after a crash would."""
    with runtime.unit_of_work() as s:
        s.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(
            status="pending", run_after=OutboxJob.created_at))


def test_a_print_job_takes_two_write_transactions_and_is_never_printed_twice(
        runtime: Any, make_printer: Callable, printer_listener: Any, wait_jobs: Callable) -> None:
    printer = make_printer(printer_listener.uri)
    # The claim with the "printing" mark, then "done" with the outbox row.
    with write_transactions(runtime, thread="counterdesk-jobs") as count:
        job_id = _print(runtime, printer["id"])
        wait_jobs()
    assert count == [2]
    assert len(printer_listener.wait_for(1)) == 1
    job = _job(runtime, job_id)
    assert (job.status, job.attempts, job.last_error) == ("done", 1, None)

    # Done already: handed over again, it is settled in the claim's one transaction
    # and nothing reaches the printer.
    outbox_id = _outbox(runtime).id
    _hand_over_again(runtime, outbox_id)
    with write_transactions(runtime) as count:
        assert run_job(runtime, outbox_id) == "done"
    assert count == [1]
    time.sleep(0.3)
    assert len(printer_listener.received) == 1
    job = _job(runtime, job_id)
    assert (job.status, job.attempts, job.last_error) == ("done", 1, None)
    assert _outbox(runtime).attempts == 2


def test_printing_is_visible_and_holds_no_transaction_while_the_printer_is_slow(
        runtime: Any, make_printer: Callable, wait_jobs: Callable) -> None:
    # A FIFO as the printer: writing blocks until someone reads, like a slow printer.
    # (A file printer writes only inside the instance folder.)
    fifo = Path(runtime.config.instance_path) / "slow-printer"
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    printer = make_printer(f"file:{fifo}", profile="TM-T88V")
    job_id = _print(runtime, printer["id"], open_drawer=True)
    try:
        deadline = time.monotonic() + 10
        while _job(runtime, job_id).status != "printing" and time.monotonic() < deadline:
            time.sleep(0.05)
        job = _job(runtime, job_id)
        assert (job.status, job.attempts) == ("printing", 1)
        assert _outbox(runtime).status == "running"

        # The job holds no transaction while it waits: its own row can be written.
        done = threading.Event()

        def touch() -> None:
            with runtime.unit_of_work() as s:
                s.execute(update(PrintJob).where(PrintJob.id == job_id).values(title="Touched"))
            done.set()

        threading.Thread(target=touch, daemon=True).start()
        assert done.wait(5), "a write waited for the print job's transaction"
    finally:
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)   # let the writer through
    try:
        chunks = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = os.read(reader, 65536)
            except BlockingIOError:
                time.sleep(0.02)
                continue
            if not chunk and chunks:
                break
            chunks.append(chunk)
    finally:
        os.close(reader)
    wait_jobs()
    job = _job(runtime, job_id)
    assert (job.status, job.attempts, job.title) == ("done", 1, "Touched")
    assert b"".join(chunks) == render_escpos(sale_document(open_drawer=True), profile="TM-T88V")


def test_a_failure_stays_on_the_print_job_and_a_fixed_printer_prints_on_the_retry(
        runtime: Any, api: Any, make_printer: Callable, refused_uri: str, wait_jobs: Callable) -> None:
    printer = make_printer(refused_uri, profile="TM-T20II")
    job_id = _print(runtime, printer["id"])
    wait_jobs()
    job = _job(runtime, job_id)
    assert (job.status, job.attempts) == ("queued", 1) and "refused" in job.last_error.lower()
    outbox = _outbox(runtime)
    assert (outbox.status, outbox.attempts) == ("pending", 1) and "refused" in outbox.last_error.lower()

    # The printer is fixed; the retry renders with its settings as they are now.
    assert api.patch(f"devices/printers/{printer['id']}", json={"uri": "dummy:"}).status_code == 200
    _hand_over_again(runtime, outbox.id)
    assert run_job(runtime, outbox.id) == "done"
    job = _job(runtime, job_id)
    assert (job.status, job.attempts, job.last_error) == ("done", 2, None)
    assert job.printed_at is not None
    assert job.output == render_escpos(sale_document(), profile="TM-T20II")
    assert _outbox(runtime).status == "done"


def test_a_print_job_that_does_not_exist_is_a_failed_attempt(runtime: Any) -> None:
    from core.db import utcnow
    with runtime.unit_of_work() as s:
        row = OutboxJob(name="devices.print", kwargs={"print_job_id": 999999}, max_attempts=1,
                        run_after=utcnow())
        s.add(row)
        s.flush()
        outbox_id = row.id
    assert run_job(runtime, outbox_id) == "failed"
    with runtime.unit_of_work(write=False) as s:
        row = s.get(OutboxJob, outbox_id)
        assert (row.attempts, row.last_error) == (1, "LookupError: print job 999999 does not exist")


def test_the_dummy_printer_keeps_exactly_the_rendered_bytes(runtime: Any, make_printer: Callable,
                                                           wait_jobs: Callable) -> None:
    printer = make_printer("dummy:", profile="TM-T88V", encoding="CP437")
    job_id = _print(runtime, printer["id"], open_drawer=True)
    wait_jobs()
    job = _job(runtime, job_id)
    expected = render_escpos(sale_document(open_drawer=True), profile="TM-T88V", encoding="CP437")
    assert (job.status, job.output) == ("done", expected)
    assert document_from_dict(job.document) == sale_document(open_drawer=True)
    assert "EUR1,024.90" in decode(job.output).text      # € is not in CP437


def _point_printer_at(runtime: Any, printer_id: int, uri: str) -> None:
    """Write a printer's URI straight to its row, past the API's checks (a row saved
    before file printers were kept inside the instance folder)."""
    from plugins.devices.models import Printer
    with runtime.unit_of_work() as s:
        s.execute(update(Printer).where(Printer.id == printer_id).values(uri=uri))


@pytest.mark.parametrize("how", ["absolute", "link"])
def test_a_file_printer_row_outside_the_instance_fails_and_writes_nothing(
        runtime: Any, make_printer: Callable, wait_jobs: Callable, tmp_path: Path,
        how: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    instance = Path(runtime.config.instance_path)
    printer = make_printer("file:spool/till1.bin")
    if how == "absolute":
        _point_printer_at(runtime, printer["id"], f"file:{outside}/till1.bin")
    else:   # the folder was swapped for a link out after the printer was saved
        (instance / "spool").symlink_to(outside, target_is_directory=True)
    job_id = _print(runtime, printer["id"])
    wait_jobs()
    job = _job(runtime, job_id)
    assert (job.status, job.attempts, job.printed_at) == ("queued", 1, None)
    assert job.last_error.startswith("InvalidUri: ") and "outside the instance folder" in job.last_error
    outbox = _outbox(runtime)
    assert outbox.status == "pending" and "outside the instance folder" in outbox.last_error
    assert list(outside.iterdir()) == []

    # Retried to the end, it stays failed, and still writes nothing.
    for _ in range(3):
        _hand_over_again(runtime, outbox.id)
        run_job(runtime, outbox.id)
    job = _job(runtime, job_id)
    assert (job.status, job.attempts) == ("failed", 4) and "InvalidUri" in job.last_error
    assert list(outside.iterdir()) == []
