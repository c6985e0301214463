"""The devices JSON API under /api/v1/devices (../shared/API.md, devices)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g

from core import Page, endpoint, paginate

from plugins.devices import services
from plugins.devices.schemas import (DrawerSchema, PrinterCreateSchema, PrinterListArgs,
                                     PrinterSchema, PrinterUpdateSchema, PrintJobDetailSchema,
                                     PrintJobListArgs, PrintJobSchema, ProfileSchema)

api = Blueprint("devices", __name__, url_prefix="/api/v1/devices")
TAGS = ["devices"]


@api.get("/printers")
@endpoint(permission="devices.printer.view", query=PrinterListArgs, response=PrinterSchema,
          many=True, tags=TAGS)
def list_printers(args: dict[str, Any]) -> Any:
    """Receipt printers, by name (``?active=true`` for the ones in use)."""
    return services.list_printers(g.session, active=args["active"])


@api.post("/printers")
@endpoint(permission="devices.printer.manage", body=PrinterCreateSchema, response=PrinterSchema,
          status=201, tags=TAGS, errors=(409, 422))
def create_printer(data: dict[str, Any]) -> Any:
    """Add a printer: where it is (URI), its profile, width and code page."""
    return services.create_printer(g.session, data, g.actor)


@api.get("/printers/<int:printer_id>")
@endpoint(permission="devices.printer.view", response=PrinterSchema, tags=TAGS, errors=(404,))
def get_printer(printer_id: int) -> Any:
    """One printer."""
    return services.get_printer(g.session, printer_id)


@api.patch("/printers/<int:printer_id>")
@endpoint(permission="devices.printer.manage", body=PrinterUpdateSchema, response=PrinterSchema,
          tags=TAGS, errors=(404, 409, 422))
def update_printer(printer_id: int, data: dict[str, Any]) -> Any:
    """Change a printer's settings (audited)."""
    return services.update_printer(g.session, printer_id, data, g.actor)


@api.post("/printers/<int:printer_id>/test")
@endpoint(permission="devices.printer.use", response=PrintJobSchema, status=202, tags=TAGS,
          errors=(404,))
def print_test_page(printer_id: int) -> Any:
    """Print a test page (settings, width ruler, accented letters, barcode, QR, cut)."""
    return services.print_test_page(g.session, printer_id, g.actor)


@api.post("/printers/<int:printer_id>/drawer")
@endpoint(permission="devices.drawer.open", body=DrawerSchema, response=PrintJobSchema,
          status=202, tags=TAGS, errors=(404, 409))
def open_drawer(printer_id: int, data: dict[str, Any]) -> Any:
    """Kick the cash drawer wired to this printer (audited, with an optional reason)."""
    return services.kick_drawer(g.session, printer_id, g.actor, reason=data["reason"])


@api.get("/profiles")
@endpoint(permission="devices.printer.view", response=ProfileSchema, many=True, tags=TAGS)
def list_profiles() -> Any:
    """The printer capability profiles a printer may use."""
    from plugins.devices import render
    return render.profile_summaries()


@api.get("/jobs")
@endpoint(permission="devices.jobs.view", query=PrintJobListArgs, response=PrintJobSchema,
          paginated=True, tags=TAGS)
def list_jobs(args: dict[str, Any]) -> Page:
    """Print jobs, newest first, with their status and last error."""
    stmt = services.jobs_query(printer_id=args["printer_id"], status=args["status"])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@api.get("/jobs/<int:job_id>")
@endpoint(permission="devices.jobs.view", response=PrintJobDetailSchema, tags=TAGS, errors=(404,))
def get_job(job_id: int) -> Any:
    """One print job with its document (and the document as text)."""
    return services.get_job(g.session, job_id)


@api.post("/jobs/<int:job_id>/reprint")
@endpoint(permission="devices.printer.use", response=PrintJobSchema, status=202, tags=TAGS,
          errors=(404, 409))
def reprint(job_id: int) -> Any:
    """Print a job's document again (a new job on the same printer)."""
    return services.reprint(g.session, job_id, g.actor)
