"""The devices plugin's hook implementations: its whole contact surface.

Other plugins print through the kernel's ``print_document`` and ``open_cash_drawer``
hooks, never by importing this package.
"""
from __future__ import annotations

import os
from typing import Any

from sqlalchemy import select

from core import Job, MigrationBranch, Permission, ReceiptDocument, Setting, hookimpl

from plugins.devices import services
from plugins.devices.models import DEVICES_MODELS, Printer

DEMO_PRINTER = "Counter printer"


@hookimpl
def register_models() -> tuple[type, ...]:
    return DEVICES_MODELS


@hookimpl
def register_migrations() -> MigrationBranch:
    return MigrationBranch("devices", os.path.join(os.path.dirname(__file__), "migrations", "versions"))


@hookimpl
def register_blueprints() -> list[Any]:
    from plugins.devices.api import api
    return [api]


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission("devices.printer.view", "See printers and their settings",
                   ("owner", "manager", "cashier", "technician", "read_only")),
        Permission("devices.printer.manage", "Add printers and change their settings",
                   ("owner", "manager")),
        Permission("devices.printer.use", "Print test pages and reprint receipts",
                   ("owner", "manager", "cashier", "technician")),
        Permission("devices.drawer.open", "Open the cash drawer without a sale (audited)",
                   ("owner", "manager", "cashier")),
        Permission("devices.jobs.view", "See print jobs and why they failed",
                   ("owner", "manager", "cashier")),
    ]


@hookimpl
def register_settings() -> list[Setting]:
    return [Setting("default_printer_id", "Default printer", "int", 0, min=0,
                    help="Id of the printer used when a register or screen names none. "
                         "0: the only active printer, when there is exactly one.")]


@hookimpl
def register_jobs() -> list[Job]:
    return [Job(services.PRINT_JOB, services.run_print_job, retries=services.PRINT_RETRIES,
                backoff=services.PRINT_BACKOFF, timeout=60)]


@hookimpl
def print_document(session: Any, document: ReceiptDocument, printer_id: int | None,
                   actor: Any) -> int | None:
    return services.print_document(session, document, printer_id, actor)


@hookimpl
def open_cash_drawer(session: Any, printer_id: int | None, actor: Any) -> int | None:
    return services.open_cash_drawer(session, printer_id, actor)


@hookimpl
def load_demo_data(session: Any, actor: Any) -> None:
    """A printer that writes each receipt to a file in <instance>/receipts/."""
    if session.scalar(select(Printer.id).where(Printer.name == DEMO_PRINTER)) is None:
        services.create_printer(session, {"name": DEMO_PRINTER, "uri": "file:receipts/"}, actor)
