"""Printers, print jobs and the cash drawer: the devices plugin's domain logic.

Plain functions taking the unit of work's session and the actor; no Flask. Printing
is always a background job: ``queue_document`` records a print job in the caller's
unit of work and enqueues ``devices.print`` for it, which renders the stored
document and sends it to the printer after commit, with retries.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator

from sqlalchemy import Select, bindparam, func, insert, select, update

from core import (Conflict, Invalid, Model, NotFound, ReceiptDocument, ReceiptLine, ReceiptSection,
                  audit, current_runtime, current_session, document_from_dict, document_to_dict,
                  enqueue, get_setting, utcnow)

from plugins.devices.models import PrintJob, Printer
from plugins.devices.transports import InvalidUri, file_location, parse_uri

log = logging.getLogger("counterdesk.devices")

PRINT_JOB = "devices.print"
PRINT_RETRIES = 3
PRINT_BACKOFF = (5, 30, 120)
MAX_ERROR_CHARS = 2000
_PRINTER_FIELDS = ("name", "uri", "profile", "columns", "encoding", "active", "location_id")


# ------------------------------------------------------------------ printers

def get_printer(session: Any, printer_id: int) -> Printer:
    printer = session.get(Printer, printer_id)
    if printer is None:
        raise NotFound(f"No printer {printer_id}.")
    return printer


def list_printers(session: Any, *, active: bool | None = None) -> list[Printer]:
    stmt = select(Printer).order_by(Printer.name)
    if active is not None:
        stmt = stmt.where(Printer.active == active)
    return list(session.scalars(stmt))


def _check_setup(values: dict[str, Any]) -> dict[str, Any]:
    """Validate a printer's URI, profile, code page and width together; fills in the
    profile's column count when none is given. Raises ``Invalid`` naming the fields.
    A ``file:`` URI must name a path inside the instance folder (``transports``)."""
    from plugins.devices import render
    errors: dict[str, list[str]] = {}
    try:
        target = parse_uri(values["uri"])
        if target.scheme == "file":
            file_location(target, current_runtime().config.instance_path)
    except InvalidUri as exc:
        errors["uri"] = [str(exc)]
    try:
        render.load_profile(values["profile"])
    except render.PrinterSetupError as exc:
        errors["profile"] = [f"{exc}; see GET /api/v1/devices/profiles"]
    else:
        try:
            render.resolve_codepage(values["profile"], values["encoding"])
        except render.PrinterSetupError as exc:
            errors["encoding"] = [str(exc)]
        if values.get("columns") is None:
            values["columns"] = render.profile_columns(values["profile"])
    if errors:
        raise Invalid("The printer settings are not valid.", fields=errors)
    return values


def _check_location(session: Any, location_id: int | None) -> None:
    if location_id is None:
        return
    locations = Model.metadata.tables["locations"]
    if session.execute(select(locations.c.id).where(locations.c.id == location_id)).first() is None:
        raise Invalid("Unknown location.", fields={"location_id": [f"no location {location_id}"]})


def _check_name_free(session: Any, name: str, printer_id: int | None = None) -> None:
    stmt = select(Printer.id).where(func.lower(Printer.name) == name.lower())
    if printer_id is not None:
        stmt = stmt.where(Printer.id != printer_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"A printer named {name!r} already exists.", code="printer_name_taken")


def _snapshot(printer: Printer) -> dict[str, Any]:
    return {k: getattr(printer, k) for k in _PRINTER_FIELDS}


def create_printer(session: Any, data: dict[str, Any], actor: Any) -> Printer:
    """Add a printer (audited). ``data``: name, uri, profile, columns (None: the
    profile's), encoding, active, location_id."""
    values = {"profile": "default", "encoding": "auto", "active": True, "location_id": None,
              "columns": None, **data}
    values["name"] = values["name"].strip()
    values["uri"] = values["uri"].strip()
    _check_setup(values)
    _check_location(session, values["location_id"])
    _check_name_free(session, values["name"])
    printer = Printer(**{k: values[k] for k in _PRINTER_FIELDS})
    session.add(printer)
    session.flush()
    audit.record(session, "devices.printer.created", actor=actor, record_type="devices_printer",
                 record_id=printer.id, after=_snapshot(printer))
    return printer


def update_printer(session: Any, printer_id: int, data: dict[str, Any], actor: Any) -> Printer:
    """Change a printer's settings (audited). Changing the profile without giving
    ``columns`` takes the new profile's width."""
    printer = get_printer(session, printer_id)
    before = _snapshot(printer)
    values = {**before, **data}
    values["name"] = values["name"].strip()
    values["uri"] = values["uri"].strip()
    if "profile" in data and "columns" not in data:
        values["columns"] = None
    _check_setup(values)
    if "location_id" in data:
        _check_location(session, values["location_id"])
    if values["name"] != printer.name:
        _check_name_free(session, values["name"], printer.id)
    for key in _PRINTER_FIELDS:
        setattr(printer, key, values[key])
    session.flush()
    after = _snapshot(printer)
    changed = {k for k in _PRINTER_FIELDS if before[k] != after[k]}
    if changed:
        audit.record(session, "devices.printer.updated", actor=actor, record_type="devices_printer",
                     record_id=printer.id, before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed})
    return printer


def codepage_of(printer: Printer) -> str:
    """The code page the printer prints text in (``auto`` resolved)."""
    from plugins.devices import render
    return render.resolve_codepage(printer.profile, printer.encoding).name


def default_printer(session: Any) -> Printer | None:
    """The shop's default printer: the ``default_printer_id`` setting, or the only
    active printer when there is exactly one."""
    printer_id = _active_printer_id(session, None)
    return None if printer_id is None else session.get(Printer, printer_id)


_ACTIVE_PRINTER = select(Printer.id).where(Printer.id == bindparam("b_id"), Printer.active.is_(True))
_ACTIVE_PRINTERS = select(Printer.id).where(Printer.active.is_(True)).limit(2)


def _active_printer_id(session: Any, printer_id: int | None) -> int | None:
    """``printer_id`` if it is an active printer, or the default printer's id when None
    (the ``default_printer_id`` setting, or the only active printer when there is
    exactly one) — by id only, no printer loaded: the sale's receipt asks for it on the
    till's hot path."""
    if printer_id is None:
        printer_id = get_setting("devices", "default_printer_id", session)
        if not printer_id:
            active = session.execute(_ACTIVE_PRINTERS).scalars().all()
            return active[0] if len(active) == 1 else None
    return session.execute(_ACTIVE_PRINTER, {"b_id": printer_id}).scalar()


# ---------------------------------------------------------------- print jobs

def _queue(session: Any, printer_id: int, document: ReceiptDocument, actor: Any, *,
           kind: str, title: str | None) -> tuple[int, dict[str, Any]]:
    if not isinstance(document, ReceiptDocument):
        raise TypeError("print a core.ReceiptDocument")
    title = title or document.title or (document.header[0] if document.header else kind)
    now = utcnow()
    values = {"printer_id": printer_id, "kind": kind, "title": title[:120],
              "document": document_to_dict(document), "status": "queued", "attempts": 0,
              "created_by_id": getattr(actor, "id", None), "created_at": now, "updated_at": now}
    # One INSERT (no ORM flush: a sale queues its receipt on the till's hot path).
    new_id = session.connection().execute(_INSERT_JOB, values).inserted_primary_key[0]
    enqueue(PRINT_JOB, print_job_id=new_id)
    return new_id, values


_INSERT_JOB = insert(PrintJob.__table__)


def queue_document(session: Any, printer: Printer, document: ReceiptDocument, actor: Any, *,
                   kind: str = "document", title: str | None = None) -> PrintJob:
    """Record a print job for ``document`` on ``printer`` and enqueue it: it prints
    after the current unit of work commits (and never if it rolls back). The returned
    job carries its id and printer but is not attached to the session."""
    new_id, values = _queue(session, printer.id, document, actor, kind=kind, title=title)
    return PrintJob(id=new_id, printer=printer, **values)


def print_document(session: Any, document: ReceiptDocument, printer_id: int | None,
                   actor: Any) -> int | None:
    """``print_document`` for other plugins: the print job's id, or None when there is
    no such active printer (the caller's work goes on; nothing is printed)."""
    active_id = _active_printer_id(session, printer_id)
    if active_id is None:
        log.warning("nothing printed: no active printer %s", printer_id if printer_id else "(default)")
        return None
    return _queue(session, active_id, document, actor, kind="document", title=None)[0]


def open_cash_drawer(session: Any, printer_id: int | None, actor: Any) -> int | None:
    """Kick the drawer on a printer (for another plugin, e.g. a cash sale): the print
    job's id, or None when there is no such active printer."""
    active_id = _active_printer_id(session, printer_id)
    if active_id is None:
        return None
    return _queue(session, active_id, ReceiptDocument(open_drawer=True), actor, kind="drawer",
                  title="Cash drawer")[0]


def kick_drawer(session: Any, printer_id: int, actor: Any, reason: str | None = None) -> PrintJob:
    """Open the cash drawer by hand ("no sale"): audited, since it gives access to cash."""
    printer = get_printer(session, printer_id)
    if not printer.active:
        raise Conflict(f"Printer {printer.name!r} is inactive.", code="printer_inactive")
    job = queue_document(session, printer, ReceiptDocument(open_drawer=True),
                         actor, kind="drawer", title="Cash drawer")
    audit.record(session, "devices.drawer.opened", actor=actor, record_type="devices_printer",
                 record_id=printer.id, after={"print_job_id": job.id}, reason=reason)
    return job


def test_document(printer: Printer, shop_name: str) -> ReceiptDocument:
    """A page that shows what the printer can do: its settings, the column width,
    accented letters in its code page, a barcode, a QR code and the cut."""
    width = printer.columns
    ruler = ("1234567890" * (width // 10 + 1))[:width]
    return ReceiptDocument(
        header=(shop_name, "Printer test page"),
        title=printer.name,
        info=(("Printer", f"#{printer.id}"), ("URI", printer.uri), ("Profile", printer.profile),
              ("Columns", str(width)), ("Code page", codepage_of(printer)),
              ("Printed", utcnow().strftime("%Y-%m-%d %H:%M UTC"))),
        lines=(ReceiptLine("Crème brûlée façon señor Müller", "1", "4.50", detail="é ü ñ € £ ß"),
               ReceiptLine("A long item description that has to wrap onto a second row", "2",
                           "12.00")),
        totals=(("Subtotal", "16.50"), ("Total", "16.50")),
        sections=(ReceiptSection("Width", (ruler,)),),
        barcode=f"TEST-{printer.id}",
        qr=f"COUNTERDESK PRINTER {printer.id}",
        footer=("If you can read this, the printer works.",),
    )


def print_test_page(session: Any, printer_id: int, actor: Any) -> PrintJob:
    printer = get_printer(session, printer_id)
    shop = get_setting("core", "shop_name", session)
    return queue_document(session, printer, test_document(printer, shop), actor, kind="test")


def get_job(session: Any, job_id: int) -> PrintJob:
    job = session.get(PrintJob, job_id)
    if job is None:
        raise NotFound(f"No print job {job_id}.")
    return job


def reprint(session: Any, job_id: int, actor: Any) -> PrintJob:
    """Print a job's document again, as a new job on the same printer."""
    old = get_job(session, job_id)
    if not old.printer.active:
        raise Conflict(f"Printer {old.printer.name!r} is inactive.", code="printer_inactive")
    return queue_document(session, old.printer, document_from_dict(old.document), actor,
                          kind=old.kind)


def jobs_query(*, printer_id: int | None = None, status: str | None = None) -> Select:
    stmt = select(PrintJob).order_by(PrintJob.id.desc())
    if printer_id is not None:
        stmt = stmt.where(PrintJob.printer_id == printer_id)
    if status is not None:
        stmt = stmt.where(PrintJob.status == status)
    return stmt


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"


# A print job runs for every sale: its statements are built once, on the tables, and
# run on the unit of work's connection (no ORM loads or flushes). Bind names start
# with ``b_`` so they never collide with the columns bound by name in a SET clause.
_JOBS = PrintJob.__table__
_PRINTERS = Printer.__table__


def _printer_column(name: str) -> Any:
    return (select(_PRINTERS.c[name]).where(_PRINTERS.c.id == _JOBS.c.printer_id)
            .correlate(_JOBS).scalar_subquery())


# Everything rendering needs comes back from the one UPDATE that marks the job
# ``printing`` (the printer's settings as they are now, for a reprint after a fix).
_MARK_PRINTING = (update(_JOBS)
                  .where(_JOBS.c.id == bindparam("b_id"), _JOBS.c.status != "done")
                  .values(status="printing", attempts=_JOBS.c.attempts + 1,
                          updated_at=bindparam("b_now"))
                  .returning(_JOBS.c.attempts, _JOBS.c.document,
                             *(_printer_column(c).label(c) for c in ("uri", "profile", "columns",
                                                                     "encoding"))))
_JOB_EXISTS = select(_JOBS.c.id).where(_JOBS.c.id == bindparam("b_id"))
_MARK_DONE = (update(_JOBS).where(_JOBS.c.id == bindparam("b_id"))
              .values(status="done", printed_at=bindparam("b_now"), last_error=None,
                      output=bindparam("b_output"), updated_at=bindparam("b_now")))
_MARK_FAILED = (update(_JOBS).where(_JOBS.c.id == bindparam("b_id"))
                .values(status=bindparam("b_status"), last_error=bindparam("b_error"),
                        updated_at=bindparam("b_now")))


def run_print_job(print_job_id: int) -> Iterator[None]:
    """The ``devices.print`` job: render the stored document for the printer and send it.

    A staged job (see ``core.jobs``): up to its ``yield`` it runs in the transaction
    that claims the outbox row, where one UPDATE marks the print job ``printing``,
    counts the attempt and returns the document and the printer's settings; that
    commits with the claim. Then, with no transaction open, it renders and sends the
    bytes (a slow printer holds nothing), and marks the job ``done`` in the
    transaction that settles the outbox row. A failure is recorded in a short
    transaction of its own, so it stays on the print job when the outbox rolls the
    attempt back and schedules a retry. A job that is already ``done`` (handed over
    twice after it printed) is never printed again.
    """
    from plugins.devices.render import render_stored
    from plugins.devices.transports import send
    runtime = current_runtime()
    conn = current_session().connection()
    job = conn.execute(_MARK_PRINTING, {"b_id": print_job_id, "b_now": utcnow()}).first()
    if job is None:
        if conn.execute(_JOB_EXISTS, {"b_id": print_job_id}).first() is None:
            raise LookupError(f"print job {print_job_id} does not exist")
        return  # already done: never print twice
    yield
    try:
        data = render_stored(job.document, profile=job.profile, columns=job.columns,
                             encoding=job.encoding)
        target = parse_uri(job.uri)
        send(target, data, job_id=print_job_id, base_dir=runtime.config.instance_path)
    except Exception as exc:
        with runtime.unit_of_work() as s:
            s.connection().execute(_MARK_FAILED, {
                "b_id": print_job_id, "b_error": _error_text(exc), "b_now": utcnow(),
                "b_status": "failed" if job.attempts > PRINT_RETRIES else "queued"})
        raise
    current_session().connection().execute(_MARK_DONE, {
        "b_id": print_job_id, "b_now": utcnow(),
        "b_output": data if target.scheme == "dummy" else None})
