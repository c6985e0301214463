"""Counterdesk's kernel. Plugins use only the names exported here (``docs/plugins.md``
lists them); everything else in ``core`` may change without notice."""
from core import audit
from core.auth import public, require, signed_in
from core.db import (IdMixin, Model, Money, TimestampMixin, after_commit, current_session,
                     to_money, utcnow)
from core.errors import BadRequest, Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthorized
from core.jobs import enqueue
from core.plugins import hookimpl
from core.rest import Page, endpoint, page_schema, paginate
from core.settings import get_setting
from core.types import (Chart, Column, DashboardCard, Job, Manifest, MenuItem, MigrationBranch,
                        Permission, Report, ReportResult, SearchResult, Setting, TimelineEntry)

__all__ = [
    "hookimpl", "Manifest", "Model", "Money", "IdMixin", "TimestampMixin", "to_money", "utcnow",
    "current_session", "after_commit", "audit", "require", "public", "signed_in", "endpoint",
    "Page", "paginate", "page_schema", "enqueue", "get_setting",
    "Permission", "MenuItem", "Report", "ReportResult", "Column", "Chart", "Setting", "Job",
    "SearchResult", "DashboardCard", "MigrationBranch", "TimelineEntry",
    "DomainError", "BadRequest", "Invalid", "Unauthorized", "Forbidden", "NotFound", "Conflict",
]
