"""The repairs plugin's hook implementations: its whole contact surface with the
kernel and the other plugins (pos rings up through ``ring_up`` and asks
``resolve_ticket_charges``; warranty answers ``resolve_coverage``; devices prints)."""
from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from core import (AttachmentTarget, MenuItem, MigrationBranch, Permission, SaleInfo, SearchResult,
                  Setting, TicketCharges, TimelineEntry, current_runtime, hookimpl)

# The plugin's own modules are imported inside the hooks, when they are called:
# selecting plugins imports only each one's manifest and hooks module.

ALL_STAFF = ("owner", "manager", "cashier", "technician", "warranty_manager", "finance",
             "read_only")
DESK = ("owner", "manager", "cashier", "technician")


@hookimpl
def register_models() -> tuple[type, ...]:
    from plugins.repairs.models import REPAIRS_MODELS
    return REPAIRS_MODELS


@hookimpl
def register_migrations() -> MigrationBranch:
    return MigrationBranch("repairs", os.path.join(os.path.dirname(__file__), "migrations", "versions"))


@hookimpl
def register_blueprints() -> list[Any]:
    from plugins.repairs.api import api, public_api
    from plugins.repairs.views import pages
    return [api, public_api, pages]


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission("repairs.ticket.view", "See repair tickets, the board and queues", ALL_STAFF),
        Permission("repairs.ticket.create", "Take in repairs at the counter", DESK),
        Permission("repairs.ticket.edit", "Edit tickets, add notes and intake photos", DESK),
        Permission("repairs.ticket.assign", "Assign tickets to technicians",
                   ("owner", "manager", "technician")),
        Permission("repairs.ticket.transition", "Move tickets through the workflow", DESK),
        Permission("repairs.work.record", "Record labour and parts on tickets",
                   ("owner", "manager", "technician")),
        Permission("repairs.estimate.manage", "Send estimates and record the customer's answer",
                   DESK),
        Permission("repairs.ticket.checkout", "Hand repairs back and take payment",
                   ("owner", "manager", "cashier")),
        Permission("repairs.reports.view", "See repair and technician reports",
                   ("owner", "manager", "finance")),
    ]


@hookimpl
def register_menu_items() -> list[MenuItem]:
    return [
        MenuItem("repairs-intake", "Intake", "repairs_pages.intake", "repairs.ticket.create",
                 order=200),
        MenuItem("repairs-board", "Repairs", "repairs_pages.board", "repairs.ticket.view",
                 order=210),
        MenuItem("repairs-queue", "My queue", "repairs_pages.queue", "repairs.work.record",
                 order=220),
    ]


@hookimpl
def register_settings() -> list[Setting]:
    return [
        Setting("labour_rate", "Labour rate (per hour)", "decimal", Decimal("60.00"),
                min=Decimal("0"), max=Decimal("100000"), help="Charged per hour of labour."),
        Setting("labour_tax_rate", "Tax on labour (%)", "decimal", Decimal("0"), min=Decimal("0"),
                max=Decimal("100"), help="Percentage added to labour at pickup."),
        Setting("comeback_days", "Comeback window (days)", "int", 30, min=0, max=3650,
                help="A unit back within this many days of its last repair opens as a "
                     "comeback linked to that ticket."),
        Setting("receipt_terms", "Drop-off receipt terms", "text",
                "Items not collected within 90 days of notice may be disposed of.\n"
                "Diagnosis fees are due even if you decline the repair.",
                help="Printed on every drop-off receipt."),
        Setting("status_base_url", "Public address of the shop", "str", "",
                help="e.g. https://repairs.example.com — put before the status link on "
                     "receipts and messages (empty: a relative link)."),
    ]


@hookimpl
def register_reports() -> list[Any]:
    from plugins.repairs.reports import repairs_reports
    return repairs_reports()


def _ticket_exists(session: Any, record_id: int) -> bool:
    from plugins.repairs.models import Ticket
    return session.get(Ticket, record_id) is not None


@hookimpl
def register_attachment_targets() -> list[AttachmentTarget]:
    return [AttachmentTarget("ticket", "repairs.ticket.view", "repairs.ticket.edit",
                             _ticket_exists, "Repair ticket")]


# ------------------------------------------------------------ the till

@hookimpl
def resolve_ticket_charges(session: Any, ticket_id: int) -> TicketCharges | None:
    from plugins.repairs import services
    return services.resolve_charges(session, ticket_id)


@hookimpl
def sale_completed(session: Any, sale: SaleInfo, actor: Any) -> None:
    from plugins.repairs import services
    services.sale_completed(session, sale, actor)


# ------------------------------------------------------------ customers
# Tickets keep their customer's name for the ticket search (services.search_tickets);
# phones are searched in the kernel's customers table, so only the name is copied.

@hookimpl
def customer_updated(session: Any, customer: Any, before: dict[str, Any]) -> None:
    if "name" in before:
        from plugins.repairs import services
        services.rename_customer(session, customer.id, customer.name)


@hookimpl
def customer_merged(session: Any, into: Any, merged: Any) -> None:
    from plugins.repairs import services
    services.merge_customer(session, into.id, merged.id, into.name)


# ------------------------------------------------------------ contributions

def _may_view(actor: Any) -> bool:
    return actor is not None and "repairs.ticket.view" in current_runtime().permissions_of(actor)


@hookimpl
def search(session: Any, query: str, actor: Any, limit: int) -> list[SearchResult]:
    from plugins.repairs import services
    if not _may_view(actor):
        return []
    return [SearchResult(type="ticket", id=t.id, title=f"{t.number} · {t.customer_name}",
                         subtitle=f"repair · {t.status.replace('_', ' ')} · {t.units_text[:60]}",
                         url=f"/repairs/tickets/{t.id}", exact=exact, score=3.0 if exact else 0.8)
            for t, exact in services.search_tickets(session, query, limit)]


def _entry(t: Any) -> TimelineEntry:
    from plugins.repairs.models import Ticket  # noqa: F401
    return TimelineEntry(at=t.opened_at, type="repair_ticket",
                         title=f"Repair {t.number}: {t.status.replace('_', ' ')}",
                         detail=t.problem[:200], url=f"/repairs/tickets/{t.id}", source="repairs",
                         extra={"ticket_id": t.id, "number": t.number, "status": t.status})


@hookimpl
def item_history(session: Any, item: Any, actor: Any) -> list[TimelineEntry]:
    from plugins.repairs import services
    if not _may_view(actor):
        return []
    return [_entry(t) for t in services.tickets_of_item(session, item.id)]


@hookimpl
def customer_timeline(session: Any, customer: Any, actor: Any) -> list[TimelineEntry]:
    from plugins.repairs import services
    if not _may_view(actor):
        return []
    return [_entry(t) for t in services.tickets_of_customer(session, customer.id)]


@hookimpl
def dashboard_cards(session: Any, actor: Any) -> list[Any]:
    from plugins.repairs.models import Ticket
    from core import DashboardCard
    from sqlalchemy import func, select
    from plugins.repairs.models import OPEN_STATUSES
    if not _may_view(actor):
        return []
    counts = dict(session.execute(select(Ticket.status, func.count()).where(
        Ticket.status.in_(OPEN_STATUSES)).group_by(Ticket.status)).all())
    body = f"{sum(counts.values())} open · {counts.get('ready', 0)} ready for pickup"
    return [DashboardCard("repairs", "Repairs", body, url="/repairs/", order=20,
                          permission="repairs.ticket.view")]
