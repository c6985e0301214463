"""The kernel's own hook implementations: it registers itself exactly like a plugin
(under the name ``core``)."""
from __future__ import annotations

import os
from typing import Any

from sqlalchemy import func, select

from core.plugins import hookimpl
from core.records.hooks import (records_customer_timeline, records_item_history,  # noqa: F401
                                records_search)  # registered with the kernel under their specnames
from core.types import DashboardCard, MenuItem, MigrationBranch, Permission, SearchResult, Setting

_ALL_STAFF = ("owner", "manager", "cashier", "technician", "warranty_manager", "finance",
              "read_only")

CORE_PERMISSIONS = (
    Permission("core.users.manage", "Create users, change their roles, revoke their sessions",
               ("owner",)),
    Permission("core.users.view", "See the list of users", ("owner", "manager")),
    Permission("core.roles.manage", "Change which permissions each role holds", ()),
    Permission("core.settings.edit", "Change shop and plugin settings", ("owner",)),
    Permission("core.settings.view", "See shop and plugin settings", ("owner", "manager", "finance")),
    Permission("core.audit.view", "Read and verify the audit log", ("owner", "finance")),
    Permission("core.plugins.view", "See which plugins are enabled", ("owner", "manager")),
    Permission("core.jobs.view", "See background jobs and their errors", ("owner", "manager")),
    Permission("core.jobs.manage", "Retry failed background jobs", ("owner", "manager")),
    Permission("core.reports.view", "Open the reports list", ("owner", "manager", "finance",
                                                              "warranty_manager", "read_only")),
    # the shared records (core/records)
    Permission("core.customers.view", "See customers and their timeline", _ALL_STAFF),
    Permission("core.customers.edit", "Create and edit customers",
               ("owner", "manager", "cashier", "technician", "warranty_manager")),
    Permission("core.customers.merge", "Merge duplicate customers", ("owner", "manager")),
    Permission("core.vendors.view", "See vendors", _ALL_STAFF),
    Permission("core.vendors.edit", "Create and edit vendors", ("owner", "manager")),
    Permission("core.products.view", "See the catalog", _ALL_STAFF),
    Permission("core.products.edit", "Create products and change prices and costs",
               ("owner", "manager")),
    Permission("core.items.view", "See serialized units and their history", _ALL_STAFF),
    Permission("core.items.edit", "Record units and change their status, owner or location",
               ("owner", "manager", "cashier", "technician", "warranty_manager")),
    Permission("core.locations.view", "See stock locations", _ALL_STAFF),
    Permission("core.locations.edit", "Create stock locations", ("owner", "manager")),
    Permission("core.stock.view", "See stock levels, moves and reservations", _ALL_STAFF),
    Permission("core.stock.adjust", "Adjust and transfer stock (audited)", ("owner", "manager")),
    Permission("core.stock.reserve", "Reserve, release and consume stock (audited)",
               ("owner", "manager", "cashier", "technician")),
    # attachments (core/attachments.py): seeing and adding follow the record's permissions
    Permission("core.attachments.delete", "Delete photos and documents attached to records "
               "(audited)", ("owner", "manager")),
)


@hookimpl
def register_models() -> list[type]:
    from core.models import CORE_MODELS
    from core.records.models import RECORD_MODELS
    from core.attachments import ATTACHMENT_MODELS
    return [*CORE_MODELS, *RECORD_MODELS, *ATTACHMENT_MODELS]


@hookimpl
def register_migrations() -> MigrationBranch:
    return MigrationBranch("core", os.path.join(os.path.dirname(__file__), "migrations", "versions"))


@hookimpl
def register_permissions() -> tuple[Permission, ...]:
    return CORE_PERMISSIONS


@hookimpl
def register_settings() -> list[Setting]:
    return [
        Setting("shop_name", "Shop name", "str", "Counterdesk Demo Shop",
                help="Printed at the top of receipts and shown in the screens."),
        Setting("shop_address", "Shop address", "text", "",
                help="Street, town and postcode, as printed on receipts."),
        Setting("shop_phone", "Shop phone", "str", "", help="Printed on receipts."),
        Setting("currency", "Currency", "choice", "USD",
                choices=("USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "NZD"),
                help="ISO 4217 code of the shop's currency."),
        Setting("prices_include_tax", "Prices include tax", "bool", False,
                help="On for VAT-style pricing (tax inside the shelf price); off for US-style "
                     "pricing (tax added at the till)."),
        Setting("timezone", "Time zone", "str", "UTC",
                help="IANA time zone used for dates on receipts and reports, e.g. America/Chicago."),
        Setting("attachments_max_mb", "Largest attachment (MB)", "int", 15, min=1, max=1024,
                help="Photos and documents larger than this are refused."),
    ]


@hookimpl
def register_menu_items() -> list[MenuItem]:
    return [
        MenuItem("customers", "Customers", "records_web.customers", "core.customers.view", order=100),
        MenuItem("units", "Units", "records_web.units", "core.items.view", order=110),
        MenuItem("products", "Products", "records_web.products", "core.products.view", order=120),
        MenuItem("stock", "Stock", "records_web.stock_levels", "core.stock.view", order=130),
        MenuItem("vendors", "Vendors", "records_web.vendors", "core.vendors.view", order=140),
        MenuItem("reports", "Reports", "web.reports", "core.reports.view", order=800),
        MenuItem("users", "Users", "web.users", "core.users.view", order=900, section="admin"),
        MenuItem("roles", "Roles", "web.roles", "core.roles.manage", order=910, section="admin"),
        MenuItem("settings", "Settings", "web.settings", "core.settings.view", order=920,
                 section="admin"),
        MenuItem("audit", "Audit log", "web.audit", "core.audit.view", order=930, section="admin"),
        MenuItem("plugins", "Plugins", "web.plugins", "core.plugins.view", order=940, section="admin"),
        MenuItem("jobs", "Jobs", "web.jobs", "core.jobs.view", order=950, section="admin"),
    ]


@hookimpl
def register_blueprints() -> list[Any]:
    from core.api import api
    from core.attachments_api import attachments_api
    from core.records.api import records_api
    from core.records.views import records_web
    from core.web.views import web
    return [api, records_api, attachments_api, records_web, web]


@hookimpl
def register_attachment_targets() -> list[Any]:
    from core.attachments import kernel_targets
    return kernel_targets()


@hookimpl(specname="customer_merged")
def attachments_customer_merged(session: Any, into: Any, merged: Any) -> None:
    """The merged customer's attachments follow it to the surviving customer."""
    from core.attachments import repoint_attachments
    repoint_attachments(session, "customer", merged.id, into.id)


@hookimpl
def register_reports() -> list[Any]:
    from core.reports import audit_activity_report
    return [audit_activity_report()]


_users_search: dict[int, Any] = {}


def _users_search_stmt(limit: int) -> Any:
    """Prebuilt (it runs on every unified search): a prefix of the lower-cased username
    or display name, as a bound parameter."""
    stmt = _users_search.get(limit)
    if stmt is None:
        from sqlalchemy import bindparam
        from core.models import User
        pattern = bindparam("pattern")
        stmt = _users_search[limit] = select(User).where(
            func.lower(User.username).like(pattern, escape="\\")
            | func.lower(User.display_name).like(pattern, escape="\\")).limit(limit)
    return stmt


@hookimpl
def search(session: Any, query: str, actor: Any, limit: int) -> list[SearchResult]:
    """Users, for those who may see them (by username or display name)."""
    from core.runtime import current
    if "core.users.view" not in current().permissions_of(actor):
        return []
    pattern = query.lower().replace("%", r"\%").replace("_", r"\_") + "%"
    rows = session.scalars(_users_search_stmt(limit), {"pattern": pattern})
    return [SearchResult(type="user", id=u.id, title=u.display_name or u.username,
                         subtitle=f"user {u.username} · {', '.join(u.role_names)}",
                         url=f"/admin/users/{u.id}", exact=u.username.lower() == query.lower())
            for u in rows]


@hookimpl
def load_demo_data(session: Any, actor: Any) -> None:
    """A believable bike and electronics shop's records (idempotent)."""
    from core.records.demo import load_demo_records
    load_demo_records(session, actor)


@hookimpl
def dashboard_cards(session: Any, actor: Any) -> list[DashboardCard]:
    from core.models import OutboxJob
    from core.runtime import current
    if "core.jobs.view" not in current().permissions_of(actor):
        return []
    failed = session.scalar(select(func.count()).select_from(OutboxJob)
                            .where(OutboxJob.status == "failed"))
    waiting = session.scalar(select(func.count()).select_from(OutboxJob)
                             .where(OutboxJob.status.in_(("pending", "queued"))))
    return [DashboardCard("jobs", "Background jobs",
                          f"{waiting} waiting · {failed} failed", url="/admin/jobs", order=900)]


