"""Every hook of the kernel. Each docstring is that hook's reference documentation:
``docs/plugins.md`` shows these signatures and a test checks that it does.

Four families:

* **Registration hooks** (``register_*``) are called once when the app is built. They
  return data (the frozen dataclasses in :mod:`core.types`, blueprints, click
  commands); the kernel collects it, validates it and refuses duplicates.
* **Domain hooks** (past tense) are called inside the unit of work that made the
  change, with its ``session``: what an implementation writes commits or rolls back
  with the change itself. An exception aborts the whole unit of work.
* **Contribution hooks** (nouns) collect results from every enabled plugin.
* **Service hooks** (``firstresult``) ask the one plugin that offers a service
  (``print_document``) to do it; None means no enabled plugin offers it.

Hooks are always called with keyword arguments; an implementation declares only the
arguments it uses. pluggy calls implementations last-registered-first, and plugins
are registered in dependency order (a plugin after what it requires), so for a
``firstresult`` hook a plugin's answer comes before the answers of the plugins it
builds on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click
    from flask import Blueprint
    from sqlalchemy.orm import Session

    from core.models import User
    from core.records.items import Item
    from core.records.parties import Customer
    from decimal import Decimal

    from core.types import (ChargeLine, Coverage, Offer, SaleInfo, TicketCharges)
    from core.types import (AttachmentTarget, DashboardCard, Job, MenuItem, MigrationBranch,
                            Permission, ReceiptDocument, Report, SearchResult, Setting,
                            TimelineEntry)

hookspec = pluggy.HookspecMarker("counterdesk")


# ------------------------------------------------------------ registration hooks

@hookspec
def register_models() -> Sequence[type]:
    """Return the plugin's model classes (subclasses of ``core.Model``) and plain
    ``Table`` objects (association tables) on ``core.Model.metadata``.

    Their tables belong to the plugin: they are created by its migration branch and
    must be named ``<slug>_<entity>``. The kernel refuses a table claimed twice.
    """


@hookspec
def register_migrations() -> "MigrationBranch | None":
    """Return the plugin's Alembic branch (``MigrationBranch(label, path)``).

    ``label`` must be the plugin's name; ``path`` is the folder of revision files. The
    first revision of a branch carries ``branch_labels=(label,)`` and
    ``depends_on`` the revisions of other branches whose tables it references.
    ``counterdesk init`` upgrades every enabled branch to its head.
    """


@hookspec
def register_blueprints() -> "Sequence[Blueprint]":
    """Return Flask blueprints to mount.

    API blueprints live under ``/api/v1/<slug>/``; every view must declare its
    permission (``core.require`` or ``core.endpoint(permission=...)``) or be marked
    ``public`` — start-up refuses a route that does neither.
    """


@hookspec
def register_permissions() -> "Sequence[Permission]":
    """Return the permissions the plugin checks (``<slug>.<resource>.<verb>``).

    ``Permission.default_roles`` lists the built-in roles granted it when a database
    first sees it; an admin may change grants afterwards. Duplicates stop start-up.
    """


@hookspec
def register_menu_items() -> "Sequence[MenuItem]":
    """Return navigation entries. Each is shown only to users holding its permission."""


@hookspec
def register_reports() -> "Sequence[Report]":
    """Return reports. The kernel lists them at ``GET /api/v1/reports``, runs them at
    ``GET /api/v1/reports/{name}`` (JSON or CSV) and renders a table and a chart."""


@hookspec
def register_settings() -> "Sequence[Setting]":
    """Return the plugin's typed settings (with defaults and help). Values are read
    with ``core.get_setting(plugin, key)`` and edited by an admin (audited)."""


@hookspec
def register_commands() -> "Sequence[click.Command]":
    """Return click commands (or groups) added to the ``counterdesk`` CLI. Each runs
    inside the app's context; use ``core.cli.unit_of_work()`` for database work."""


@hookspec
def register_jobs() -> "Sequence[Job]":
    """Return background jobs (``Job(name, func, retries, backoff)``). Enqueue them
    with ``core.enqueue(name, **ids)`` inside a unit of work."""


@hookspec
def register_attachment_targets() -> "Sequence[AttachmentTarget]":
    """Return the kinds of record that photos and documents may be attached to
    (``AttachmentTarget(record_type, view_permission, attach_permission, exists)``).

    ``POST /api/v1/attachments`` accepts a ``record_type`` only if an enabled plugin
    registered it; downloads need its ``view_permission``, uploads its
    ``attach_permission`` (both declared by an enabled plugin). ``exists(session,
    record_id)`` returns whether the record is there. The kernel registers
    ``customer``, ``vendor``, ``product`` and ``item``; a record type declared twice
    stops start-up. Attachments of a disabled plugin's record types are kept but not
    served.
    """


# ------------------------------------------------------------------ domain hooks

@hookspec
def user_created(session: "Session", user: "User", actor: "User | None") -> None:
    """A user account was created (by ``actor``; None from the command line).

    Called inside the creating unit of work, after the user is flushed (``user.id`` is
    set). Raising aborts the creation.
    """


@hookspec
def settings_changed(session: "Session", plugin: str, before: dict[str, Any],
                     after: dict[str, Any], actor: "User | None") -> None:
    """An admin changed ``plugin``'s settings. ``before`` and ``after`` hold only the
    keys that changed. Called inside the unit of work that stores them."""


@hookspec
def customer_updated(session: "Session", customer: "Customer", before: dict[str, Any],
                     actor: "User | None") -> None:
    """Customer ``customer``'s details were edited (``PATCH /customers/{id}``, the
    customer form): refresh what the plugin copied from them, such as a name kept on
    its own rows for searching.

    ``before`` holds the previous values of the fields that changed, and only those
    (``name``, ``phone``, ``email``, ``address``, ``notes``, ``contact_channel``,
    ``marketing_opt_out``); ``customer`` already carries the new ones. Called inside
    the editing unit of work, after the change is flushed and audited, and only when
    something changed. Raising aborts the edit. A merge calls ``customer_merged``
    instead.
    """


@hookspec
def customer_merged(session: "Session", into: "Customer", merged: "Customer",
                    actor: "User | None") -> None:
    """Customer ``merged`` is being folded into customer ``into``: re-point the
    plugin's rows that reference ``merged.id`` to ``into.id``.

    Called inside the merging unit of work, after the kernel moved its own references
    (units owned) and marked ``merged`` inactive with ``merged_into_id = into.id``; the
    merged row is kept, so an implementation may still read it. Raising aborts the
    whole merge (nothing is re-pointed).
    """


@hookspec
def load_demo_data(session: "Session", actor: "User") -> None:
    """``counterdesk demo`` is loading demonstration data: add the plugin's own.

    Called plugin by plugin in dependency order (a plugin after what it requires),
    inside one unit of work. Implementations must be idempotent: ``demo`` may be run twice.
    """


# ------------------------------------------------------------ contribution hooks

@hookspec
def search(session: "Session", query: str, actor: "User", limit: int) -> "Sequence[SearchResult]":
    """Return up to ``limit`` results for the unified search box.

    Only return records ``actor`` may see. Mark identifier matches (a serial, a
    barcode, a document number) ``exact=True``: they rank first, and a lone exact hit
    opens directly. ``query`` is stripped and never empty.
    """


@hookspec
def item_history(session: "Session", item: "Item", actor: "User") -> "Sequence[TimelineEntry]":
    """Return what the plugin knows about one serialized unit (``GET
    /items/{id}/history``): sales, tickets, claims, vendor jobs...

    Entries (``core.TimelineEntry``) from every enabled plugin are merged and shown
    newest first; ``at`` is an aware datetime (or a date). Return only what ``actor``
    may see. The kernel contributes the unit's stock moves and status changes.
    """


@hookspec
def customer_timeline(session: "Session", customer: "Customer",
                      actor: "User") -> "Sequence[TimelineEntry]":
    """Return what the plugin knows about one customer (``GET
    /customers/{id}/timeline``): sales, tickets, claims, messages...

    Entries (``core.TimelineEntry``) from every enabled plugin are merged and shown
    newest first; ``at`` is an aware datetime (or a date). Return only what ``actor``
    may see. The kernel contributes the customer's units and record changes.
    """


@hookspec
def dashboard_cards(session: "Session", actor: "User") -> "Sequence[DashboardCard]":
    """Return panels for the home dashboard (counts, queues) that ``actor`` may see."""


# ----------------------------------------------------------------- service hooks

@hookspec(firstresult=True)
def print_document(session: "Session", document: "ReceiptDocument", printer_id: int | None,
                   actor: "User | None") -> int | None:
    """Print ``document`` (a ``core.ReceiptDocument``) on printer ``printer_id``.

    Implemented by the ``devices`` plugin; any plugin may call it. Called inside the
    caller's unit of work: the print job is recorded there and runs as a background
    job after commit (so printing never blocks or fails the caller, and a rolled-back
    sale prints nothing). ``printer_id`` None means the shop's default printer.
    ``actor`` is who asked (None for the system). ``document.open_drawer`` kicks the
    cash drawer after the cut.

    Stops at the first non-None result: the print job's id. None when no enabled
    plugin prints, or the printer is unknown or inactive (nothing is printed then).
    """


@hookspec(firstresult=True)
def open_cash_drawer(session: "Session", printer_id: int | None, actor: "User | None") -> int | None:
    """Kick the cash drawer wired to printer ``printer_id`` (None: the default
    printer), e.g. for a cash sale whose receipt is not printed.

    Implemented by the ``devices`` plugin; like ``print_document`` it records a job in
    the caller's unit of work that runs after commit. Stops at the first non-None
    result: the job's id; None when no enabled plugin drives a drawer or the printer
    is unknown or inactive.
    """


# ------------------------------------------------- the till and the service desk
# Offered by pos, repairs and warranty to each other. Specified here, in the kernel,
# so a plugin implementing them loads whether or not the offering plugin is enabled.

@hookspec
def sale_line_offers(session: "Session", product_id: int, serial: str | None,
                     customer_id: int | None) -> "Sequence[Offer]":
    """Return what to offer on a till line for ``product_id`` (and unit ``serial``):
    the warranty plugin offers its extended plans. Called by pos while ringing up."""


@hookspec
def sale_completed(session: "Session", sale: "SaleInfo", actor: "User") -> None:
    """A till sale was completed (``sale.kind == "sale"``).

    Called by pos inside the sale's unit of work: what an implementation records
    commits or rolls back with the sale (warranty coverage starting, a repair ticket
    marked collected when ``sale.ticket_id`` is set). Raising aborts the sale.
    """


@hookspec
def sale_returned(session: "Session", sale: "SaleInfo", original_sale_id: int,
                  actor: "User") -> None:
    """Lines of sale ``original_sale_id`` were returned; ``sale`` is the return
    (``kind == "return"``, negative quantities). Inside the return's unit of work."""


@hookspec
def receipt_sections(session: "Session", sale: "SaleInfo") -> "Sequence[ReceiptSection]":
    """Return text blocks for the sale's receipt (warranty terms and end dates)."""


@hookspec
def close_report_sections(session: "Session", shift_id: int, start: Any,
                          end: Any) -> "Sequence[ReceiptSection]":
    """Return sections for a till shift's close (Z) report covering ``start``..``end``
    (the warranty plugin adds activations and registration gaps)."""


@hookspec(firstresult=True)
def resolve_ticket_charges(session: "Session", ticket_id: int) -> "TicketCharges | None":
    """What repair ticket ``ticket_id`` owes at pickup (parts and labour, less its
    deposit). Answered by the repairs plugin; pos calls it for a sale carrying a
    ``ticket_id``. Stops at the first non-None answer; None: no ticket whose units wait
    to be handed back (ready, or cancelled with units still at the shop)."""


@hookspec(firstresult=True)
def ring_up(session: "Session", actor: "User", pos_session_id: int, customer_id: int | None,
            lines: "Sequence[ChargeLine]", payments: "Sequence[tuple[str, Decimal]]",
            ticket_id: int | None, note: str) -> "SaleInfo | None":
    """Complete a till sale of ``lines`` paid by ``payments`` on the open shift
    ``pos_session_id``, inside the caller's unit of work (a repair's deposit, a
    ticket's pickup). Answered by pos; None when pos is not enabled, so the caller
    records the payment itself. Raises the kernel's domain errors (a closed shift, a
    payment short of the total) like the till's own API."""


@hookspec(firstresult=True)
def resolve_coverage(session: "Session", item_id: int, on: Any) -> "Coverage | None":
    """Whether unit ``item_id`` is under warranty on date ``on``, and for what.
    Answered by the warranty plugin; repairs prices covered work at zero. Stops at
    the first non-None answer; None: nobody knows of coverage (charge normally)."""


@hookspec
def ticket_created(session: "Session", ticket: Any, actor: "User") -> None:
    """A repair ticket was opened (``ticket`` is the repairs plugin's record: read its
    ``id``, ``number``, ``customer_id``, ``status`` and ``status_url``). Inside the
    unit of work; notifications queue the customer's message here."""


@hookspec
def ticket_status_changed(session: "Session", ticket: Any, old: str, new: str,
                          actor: "User | None") -> None:
    """A repair ticket moved from status ``old`` to ``new``. Inside the unit of work."""


@hookspec
def estimate_requested(session: "Session", ticket: Any, amount: Decimal, actor: "User") -> None:
    """The customer was asked to approve an estimate for ``ticket``: ``amount`` is what
    they would pay, tax included (the estimate row also has it before tax and the tax)."""


@hookspec
def ticket_ready(session: "Session", ticket: Any, actor: "User | None") -> None:
    """A repair ticket is ready for pickup."""


@hookspec
def parts_short(session: "Session", ticket_id: int, product_id: int, quantity: Decimal,
                actor: "User") -> None:
    """A ticket needs ``quantity`` of ``product_id`` that is not in stock: the line is
    ``to_order``. The purchasing plugin answers by drafting an order line."""

