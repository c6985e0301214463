"""The pos plugin's hook implementations: its whole contact surface.

Other plugins reach the till only through the kernel's hooks: ``ring_up`` (answered
here: a repair's deposit or pickup as a till sale), and the hooks pos calls while
ringing up — ``sale_line_offers``, ``sale_completed``, ``receipt_sections``,
``close_report_sections``, ``resolve_ticket_charges``, ``print_document``,
``open_cash_drawer``. A customer merge re-points the merged customer's sales
(``customer_merged``).
"""
from __future__ import annotations

import os
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import select

from core import (ChargeLine, MenuItem, MigrationBranch, Permission, SaleInfo, SearchResult,
                  Setting, TimelineEntry, hookimpl)

from plugins.pos import services
from plugins.pos.models import POS_MODELS, Sale, SaleLine

_SELLERS = ("owner", "manager", "cashier")


@hookimpl
def register_models() -> tuple[type, ...]:
    return POS_MODELS


@hookimpl
def register_migrations() -> MigrationBranch:
    return MigrationBranch("pos", os.path.join(os.path.dirname(__file__), "migrations", "versions"))


@hookimpl
def register_blueprints() -> list[Any]:
    from plugins.pos.api import api
    from plugins.pos.views import web
    return [api, web]


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission("pos.register.view", "See registers", (*_SELLERS, "finance", "read_only")),
        Permission("pos.register.manage", "Add registers and assign their printers",
                   ("owner", "manager")),
        Permission("pos.session.open", "Open a till session with its float", _SELLERS),
        Permission("pos.session.close", "Close a till session with the counted cash", _SELLERS),
        Permission("pos.session.report", "See till session and close (Z) reports",
                   (*_SELLERS, "finance")),
        Permission("pos.sale.create", "Ring up sales at the till", _SELLERS),
        Permission("pos.sale.view", "Find sales and see receipts",
                   (*_SELLERS, "finance", "read_only")),
        Permission("pos.sale.print", "Print and reprint receipts", _SELLERS),
        Permission("pos.sale.refund", "Take returns and pay refunds (audited)",
                   ("owner", "manager")),
        Permission("pos.price.override", "Sell at another price than the catalog's (audited)",
                   ("owner", "manager")),
        Permission("pos.discount.override", "Give a discount over the shop's limit (audited)",
                   ("owner", "manager")),
    ]


@hookimpl
def register_settings() -> list[Setting]:
    return [
        Setting("discount_limit_percent", "Discount limit (%)", "decimal", Decimal("10"),
                min=Decimal("0"), max=Decimal("100"),
                help="A line discount above this percentage needs the pos.discount.override "
                     "permission (a manager)."),
        Setting("print_receipt", "Print a receipt for every sale", "bool", True,
                help="Queue the receipt on the register's printer when a sale completes."),
        Setting("receipt_footer", "Receipt footer", "text", "Thank you for shopping with us!",
                help="Printed at the bottom of every receipt."),
    ]


@hookimpl
def register_menu_items() -> list[MenuItem]:
    return [MenuItem("till", "Till", "pos_web.till", "pos.sale.create", order=10)]


# ------------------------------------------------------------- service hooks

@hookimpl
def ring_up(session: Any, actor: Any, pos_session_id: int, customer_id: int | None,
            lines: Sequence[ChargeLine], payments: Sequence[tuple[str, Decimal]],
            ticket_id: int | None, note: str) -> SaleInfo:
    return services.ring_up_charges(session, actor, shift_id=pos_session_id,
                                    customer_id=customer_id, lines=lines, payments=payments,
                                    ticket_id=ticket_id, note=note)


# ------------------------------------------------------------- domain hooks

@hookimpl
def customer_merged(session: Any, into: Any, merged: Any) -> None:
    """The merged customer's sales and returns move to the survivor, so its timeline,
    the sale search by customer and reprinted receipts find them."""
    services.move_customer_sales(session, into.id, merged.id)


# ------------------------------------------------------- contribution hooks

@hookimpl
def search(session: Any, query: str, actor: Any, limit: int) -> list[SearchResult]:
    from core import current_runtime
    if "pos.sale.view" not in current_runtime().permissions_of(actor):
        return []
    number = query.strip().upper()
    if not (number.startswith("S-") or number.startswith("R-")):
        return []
    sale = session.scalar(select(Sale).where(Sale.number == number))
    if sale is None:
        return []
    return [SearchResult(type="sale", id=sale.id, title=f"{sale.number} · {sale.total}",
                         url=f"/pos/sales/{sale.id}", subtitle=sale.at.strftime("%Y-%m-%d %H:%M"),
                         exact=True)]


@hookimpl
def item_history(session: Any, item: Any, actor: Any) -> list[TimelineEntry]:
    from core import current_runtime
    if "pos.sale.view" not in current_runtime().permissions_of(actor):
        return []
    rows = session.execute(select(Sale).join(SaleLine, SaleLine.sale_id == Sale.id)
                           .where(SaleLine.item_id == item.id).order_by(Sale.id)).scalars().unique()
    return [TimelineEntry(at=s.at, type=s.kind, title=f"{'Sold' if s.kind == 'sale' else 'Returned'}"
                          f" on {s.number}", url=f"/pos/sales/{s.id}", source="pos",
                          extra={"sale_id": s.id, "customer_id": s.customer_id}) for s in rows]


@hookimpl
def customer_timeline(session: Any, customer: Any, actor: Any) -> list[TimelineEntry]:
    from core import current_runtime
    if "pos.sale.view" not in current_runtime().permissions_of(actor):
        return []
    sales = session.scalars(select(Sale).where(Sale.customer_id == customer.id)
                            .order_by(Sale.id.desc()).limit(200))
    return [TimelineEntry(at=s.at, type=s.kind, title=f"{s.number} · {s.total}",
                          detail=", ".join(ln.description for ln in s.lines[:5]),
                          url=f"/pos/sales/{s.id}", source="pos", extra={"sale_id": s.id})
            for s in sales]


@hookimpl
def load_demo_data(session: Any, actor: Any) -> None:
    """A register at each store location (printing on the default printer), so the
    demo's till can be opened straight away. Idempotent."""
    from core import Location
    from plugins.pos.models import Register
    if session.scalar(select(Register.id).limit(1)) is not None:
        return
    stores = session.scalars(select(Location).where(Location.kind == "store").order_by(Location.id))
    for n, location in enumerate(stores, start=1):
        services.create_register(session, actor, {"name": f"Counter {n}", "location_id": location.id,
                                                  "printer_id": None})
