"""Counterdesk's kernel. Plugins use only the names exported here (``docs/plugins.md``
lists them); everything else in ``core`` may change without notice."""
from core import audit
from core.auth import public, require, signed_in
from core.db import (IdMixin, Model, Money, TimestampMixin, after_commit, current_session,
                     to_money, utcnow)
from core.documents import document_from_dict, document_to_dict, render_html, render_text
from core.fields import MoneyField
from core.errors import BadRequest, Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthorized
from core.jobs import enqueue
from core.plugins import hookimpl
from core.pricing import LineAmounts, Totals, line_amounts, sum_lines
from core.records.catalog import Product, find_product_by_code
from core.models import User
from core.records.items import Item, create_item, normalize_serial, update_item
from core.records.parties import Customer, phone_digits
from core.records.search import fts5_prefix_match
from core.records.stock import (Location, Reservation, apply_move, consume_reservation,
                                move_stock, record_move, release_reservation, reserve_stock)
from core.rest import Page, endpoint, page_schema, paginate
from core.runtime import current as current_runtime
from core.settings import get_setting
from core.types import (AttachmentTarget, ChargeLine, Chart, Column, Coverage, DashboardCard, Job,
                        Manifest, MenuItem, MigrationBranch, Offer, Permission, ReceiptDocument,
                        ReceiptLine, ReceiptSection, Report, ReportResult, SaleInfo, SaleLineInfo,
                        SearchResult, Setting, TicketCharges, TimelineEntry)

__all__ = [
    "hookimpl", "Manifest", "Model", "Money", "IdMixin", "TimestampMixin", "to_money", "utcnow",
    "current_session", "after_commit", "audit", "require", "public", "signed_in", "endpoint",
    "Page", "paginate", "page_schema", "enqueue", "get_setting",
    "Permission", "MenuItem", "Report", "ReportResult", "Column", "Chart", "Setting", "Job",
    "SearchResult", "DashboardCard", "MigrationBranch", "TimelineEntry", "AttachmentTarget",
    "DomainError", "BadRequest", "Invalid", "Unauthorized", "Forbidden", "NotFound", "Conflict",
    "reserve_stock", "release_reservation", "consume_reservation", "move_stock",
    "record_move", "apply_move", "fts5_prefix_match",
    "Product", "Item", "Customer", "Location", "Reservation", "User", "find_product_by_code",
    "normalize_serial", "phone_digits", "create_item", "update_item",
    "ReceiptDocument", "ReceiptLine", "ReceiptSection", "render_text", "render_html",
    "document_to_dict", "document_from_dict", "current_runtime",
    "MoneyField", "line_amounts", "sum_lines", "LineAmounts", "Totals",
    "ChargeLine", "TicketCharges", "SaleInfo", "SaleLineInfo", "Offer", "Coverage",
]
