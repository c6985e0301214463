"""The data that plugins hand to the kernel through registration hooks.

All frozen dataclasses: a plugin returns them, the kernel collects, validates and
refuses duplicates. Nobody appends to lists on the app.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Sequence

PERMISSION_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

DEFAULT_ROLES: tuple[str, ...] = (
    "admin", "owner", "manager", "cashier", "technician", "warranty_manager", "finance",
    "read_only",
)


@dataclass(frozen=True)
class Permission:
    """A permission named ``<slug>.<resource>.<verb>``.

    ``default_roles`` are granted it when the permission is first seen by a database;
    after that an admin's changes to the grants are kept. ``admin`` always has every
    permission.
    """
    name: str
    title: str
    default_roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not PERMISSION_RE.match(self.name):
            raise ValueError(f"permission {self.name!r} is not of the form slug.resource.verb")
        unknown = set(self.default_roles) - set(DEFAULT_ROLES)
        if unknown:
            raise ValueError(f"permission {self.name!r} names unknown default roles {sorted(unknown)}")


@dataclass(frozen=True)
class MenuItem:
    """An entry in the navigation. ``endpoint`` is a Flask endpoint name; the item is
    shown only to users holding ``permission`` (None: every signed-in user)."""
    key: str
    title: str
    endpoint: str
    permission: str | None = None
    order: int = 100
    section: str = "main"  # "main" or "admin"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    type: str = "text"  # text, int, decimal, money, date, datetime


@dataclass(frozen=True)
class Chart:
    """How to draw a report: a ``bar`` or ``line`` chart of column ``y`` (one or more)
    against column ``x``."""
    kind: str
    x: str
    y: tuple[str, ...]


@dataclass(frozen=True)
class ReportResult:
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Report:
    """A report: ``run(session, params)`` returns a :class:`ReportResult`; ``params``
    is a marshmallow Schema class validating the query string."""
    name: str
    title: str
    permission: str
    run: Callable[..., ReportResult]
    params: type | None = None
    chart: Chart | None = None
    description: str = ""


SETTING_TYPES = ("str", "text", "int", "decimal", "bool", "choice")


@dataclass(frozen=True)
class Setting:
    """A typed shop setting, edited by an admin. ``key`` is unique within its plugin."""
    key: str
    label: str
    type: str
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()
    min: Decimal | int | None = None
    max: Decimal | int | None = None

    def __post_init__(self) -> None:
        if self.type not in SETTING_TYPES:
            raise ValueError(f"setting {self.key!r}: unknown type {self.type!r}")
        if self.type == "choice" and self.default not in self.choices:
            raise ValueError(f"setting {self.key!r}: default is not one of its choices")


@dataclass(frozen=True)
class Job:
    """A background job: ``func(**kwargs)`` called with ids, never objects.

    ``retries`` further attempts after the first failure, waiting ``backoff`` seconds
    (the last figure repeats) between them.
    """
    name: str
    func: Callable[..., Any]
    retries: int = 3
    backoff: tuple[int, ...] = (5, 30, 120, 600)
    timeout: int = 120


@dataclass(frozen=True)
class SearchResult:
    """One hit for the unified search box. ``exact`` marks an identifier match (a
    serial, a barcode, a ticket number): those rank first, and a lone exact hit is
    opened straight away."""
    type: str
    id: Any
    title: str
    url: str
    subtitle: str = ""
    exact: bool = False
    score: float = 0.0


@dataclass(frozen=True)
class DashboardCard:
    """A small panel on the home dashboard."""
    key: str
    title: str
    body: str
    url: str | None = None
    order: int = 100
    permission: str | None = None


@dataclass(frozen=True)
class MigrationBranch:
    """Where a plugin keeps its Alembic revisions: branch label and folder."""
    label: str
    path: str


ATTACHMENT_TARGET_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class AttachmentTarget:
    """A kind of record that photos and documents may be attached to.

    ``record_type`` is the name clients send (``"customer"``, ``"ticket"``); users
    holding ``view_permission`` may list and download the record's attachments, users
    holding ``attach_permission`` may add to them. ``exists(session, record_id)``
    says whether the record is there (an upload to a missing record is a 404).
    """
    record_type: str
    view_permission: str
    attach_permission: str
    exists: Callable[[Any, int], bool]
    title: str = ""

    def __post_init__(self) -> None:
        if not ATTACHMENT_TARGET_RE.match(self.record_type):
            raise ValueError(f"attachment record type {self.record_type!r} must be snake_case "
                             "(at most 64 characters)")


@dataclass(frozen=True)
class Manifest:
    """What a plugin declares about itself (its package's ``__init__`` holds only this)."""
    name: str
    version: str
    title: str
    requires: tuple[str, ...] = ()
    description: str = ""
    hooks: str | None = None  # module with hook implementations; default "<package>.hooks"

    def __post_init__(self) -> None:
        if not re.match(r"^[a-z][a-z0-9_]*$", self.name):
            raise ValueError(f"plugin name {self.name!r} must be snake_case")


@dataclass(frozen=True)
class TimelineEntry:
    """One event in a record's history (a sale, a ticket, a claim, a stock move)."""
    at: Any
    type: str
    title: str
    detail: str = ""
    url: str | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------- documents

def _strs(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"{what} must be a sequence of strings, not one string")
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class ReceiptLine:
    """One line of a receipt: what, how many, the line's amount (already formatted,
    e.g. ``"19.99"``) and an optional ``detail`` printed under it (a serial, a
    discount, a warranty end date; several lines separated by newlines)."""
    description: str
    quantity: str = "1"
    amount: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        for name in ("description", "quantity", "amount", "detail"):
            value = getattr(self, name)
            if not isinstance(value, str):
                object.__setattr__(self, name, "" if value is None else str(value))


@dataclass(frozen=True)
class ReceiptSection:
    """A titled block of text lines a plugin adds to a receipt (warranty terms, a
    repair's status link...)."""
    title: str
    lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", _strs(self.lines, "ReceiptSection.lines"))


@dataclass(frozen=True)
class ReceiptDocument:
    """A receipt as data, independent of how it is shown: ``core.documents`` renders
    it as plain text or HTML, the devices plugin as ESC/POS for a printer.

    ``header`` (shop name, address...) is centred; ``info`` holds labelled values
    (``("Sale", "S-000123")``); ``totals`` are labelled, formatted amounts (a label
    ``Total`` prints bold); ``barcode`` is printed as CODE128 and ``qr`` as a QR code
    (printable ASCII); ``open_drawer`` kicks the cash drawer after the cut. Lists
    (and the dicts of JSON) are accepted and stored as tuples and dataclasses, so
    ``ReceiptDocument(**json.loads(text))`` rebuilds a stored document.
    """
    header: tuple[str, ...] = ()
    lines: tuple[ReceiptLine, ...] = ()
    totals: tuple[tuple[str, str], ...] = ()
    sections: tuple[ReceiptSection, ...] = ()
    barcode: str | None = None
    qr: str | None = None
    footer: tuple[str, ...] = ()
    open_drawer: bool = False
    title: str = ""
    info: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        def pairs(value: Any) -> tuple[tuple[str, str], ...]:
            out = []
            for pair in value:
                label, text = pair  # a two-item sequence, e.g. a JSON list
                out.append((str(label), str(text)))
            return tuple(out)

        setattr_ = object.__setattr__
        setattr_(self, "header", _strs(self.header, "ReceiptDocument.header"))
        setattr_(self, "footer", _strs(self.footer, "ReceiptDocument.footer"))
        setattr_(self, "lines", tuple(ln if isinstance(ln, ReceiptLine) else ReceiptLine(**ln)
                                      for ln in self.lines))
        setattr_(self, "sections", tuple(s if isinstance(s, ReceiptSection) else ReceiptSection(**s)
                                         for s in self.sections))
        setattr_(self, "totals", pairs(self.totals))
        setattr_(self, "info", pairs(self.info))
        for name in ("barcode", "qr"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                setattr_(self, name, str(value))
        setattr_(self, "open_drawer", bool(self.open_drawer))
        setattr_(self, "title", str(self.title or ""))


# ------------------------------------------------------- sales and services
# Plain data that crosses plugin boundaries: pos, repairs and warranty meet through
# hooks carrying these, never through each other's models.

@dataclass(frozen=True)
class ChargeLine:
    """Something to charge at the till that is not (only) a catalog scan: a repair's
    part or labour, a deposit, a covered warranty part priced at zero.

    ``unit_price`` is a Decimal in the shop's pricing convention (tax-exclusive
    unless the core setting ``prices_include_tax`` is on); ``tax_rate`` a percentage
    (``Decimal("8.25")``). ``covered`` marks work a warranty pays for: it prints with
    its list price struck to zero. ``reservation_id`` names a stock reservation the
    sale consumes; ``serial`` the unit sold, when the product is serialized.
    """
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = Decimal("0")
    kind: str = "goods"            # goods, part, labor, service, deposit
    product_id: int | None = None
    serial: str | None = None
    reservation_id: int | None = None
    covered: bool = False

    @property
    def charged_price(self) -> Decimal:
        """What one unit costs the customer: ``unit_price``, or nothing when covered."""
        return Decimal("0.00") if self.covered else self.unit_price


@dataclass(frozen=True)
class TicketCharges:
    """What a repair ticket owes at pickup: its parts and labour, less the deposit
    already paid. Answered by the repairs plugin (``resolve_ticket_charges``)."""
    ticket_id: int
    number: str
    customer_id: int | None
    lines: tuple[ChargeLine, ...]
    deposit: Decimal = Decimal("0")


@dataclass(frozen=True)
class SaleLineInfo:
    line_id: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    product_id: int | None = None
    item_id: int | None = None
    serial: str | None = None
    warranty_plan_id: int | None = None
    kind: str = "goods"


@dataclass(frozen=True)
class SaleInfo:
    """A completed till sale (or return, ``kind="return"``) as other plugins see it."""
    id: int
    number: str
    kind: str
    at: Any
    customer_id: int | None
    location_id: int | None
    ticket_id: int | None
    lines: tuple[SaleLineInfo, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    payments: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True)
class Offer:
    """Something to offer on a sale line (an extended warranty plan): the till shows
    it, and a line that takes it carries ``ref`` (e.g. ``warranty_plan_id``)."""
    kind: str
    ref: int
    title: str
    price: Decimal
    description: str = ""


@dataclass(frozen=True)
class Coverage:
    """Whether a unit is covered on a date, and for what (``parts``, ``labor`` or
    ``parts_and_labor``). Answered by the warranty plugin (``resolve_coverage``)."""
    item_id: int
    covered: bool
    coverage: str = ""
    plan: str = ""
    ends_on: Any = None
    coverage_id: int | None = None
    reason: str = ""
