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
