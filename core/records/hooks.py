"""The kernel records' hook implementations. ``core.hooks`` imports them, so they are
registered with the kernel (plugin ``core``); each works under its own name through
``specname`` because ``core.hooks`` already implements ``search`` for users."""
from __future__ import annotations

from typing import Any

from core.plugins import hookimpl


@hookimpl(specname="search")
def records_search(session: Any, query: str, actor: Any, limit: int) -> list[Any]:
    """Customers (name words, phone in any format, e-mail), products (SKU, barcode,
    words) and units (serial) — each only for users who may view them."""
    from core.records.search import search_records
    from core.runtime import current
    return search_records(session, query, actor, limit, current().permissions_of(actor))


@hookimpl(specname="item_history")
def records_item_history(session: Any, item: Any) -> list[Any]:
    """The unit's stock moves and status changes."""
    from core.records.items import kernel_item_history
    return kernel_item_history(session, item)


@hookimpl(specname="customer_timeline")
def records_customer_timeline(session: Any, customer: Any) -> list[Any]:
    """The customer's units and changes to the customer record."""
    from core.records.items import kernel_customer_timeline
    return kernel_customer_timeline(session, customer)
