"""Reports: run a registered report with validated parameters and render it as rows
or CSV. The kernel contributes one report of its own (audit activity by day)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any, Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Invalid, NotFound
from core.types import Chart, Column, Report, ReportResult


def run(session: Session, report: Report, raw_params: Mapping[str, Any]) -> tuple[dict[str, Any], ReportResult]:
    params: dict[str, Any] = {}
    if report.params is not None:
        try:
            params = report.params(unknown=EXCLUDE).load(dict(raw_params))
        except ValidationError as exc:
            raise Invalid("Some report parameters are not valid.", fields=exc.normalized_messages()) from exc
    return params, report.run(session, params)


def find(reports: Mapping[str, Report], name: str) -> Report:
    if name not in reports:
        raise NotFound(f"No report named {name!r}.")
    return reports[name]


def cell(value: Any) -> Any:
    """A JSON-friendly cell: money and other decimals as strings, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def as_json(report: Report, params: dict[str, Any], result: ReportResult) -> dict[str, Any]:
    return {
        "name": report.name, "title": report.title,
        "params": {k: cell(v) for k, v in params.items()},
        "columns": [{"key": c.key, "title": c.title, "type": c.type} for c in result.columns],
        "rows": [[cell(v) for v in row] for row in result.rows],
        "chart": None if report.chart is None else
        {"kind": report.chart.kind, "x": report.chart.x, "y": list(report.chart.y)},
    }


def as_csv(result: ReportResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([c.title for c in result.columns])
    for row in result.rows:
        writer.writerow(["" if v is None else cell(v) for v in row])
    return buf.getvalue()


# ------------------------------------------------------- the kernel's report

class PeriodParams(Schema):
    """A date range; both ends inclusive. Defaults to the last 30 days."""
    start = fields.Date(load_default=None)
    end = fields.Date(load_default=None)

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError("start must not be after end", field_name="start")


def _audit_activity(session: Session, params: dict[str, Any]) -> ReportResult:
    from core.models import AuditEntry
    end = params.get("end") or dt.date.today()
    start = params.get("start") or end - dt.timedelta(days=29)
    lo = dt.datetime.combine(start, dt.time.min, dt.timezone.utc)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, dt.timezone.utc)
    day = func.substr(func.cast(AuditEntry.at, _text()), 1, 10)
    rows = session.execute(
        select(day.label("day"),
               func.count().label("changes"),
               func.count().filter(AuditEntry.action.like("auth.%")).label("sign_in_failures"))
        .where(AuditEntry.at >= lo, AuditEntry.at < hi)
        .group_by(day).order_by(day)).all()
    return ReportResult(
        columns=[Column("day", "Day", "date"), Column("changes", "Audited changes", "int"),
                 Column("sign_in_failures", "Failed sign-ins", "int")],
        rows=[tuple(r) for r in rows])


def _text() -> Any:
    from sqlalchemy import String
    return String()


def audit_activity_report() -> Report:
    return Report(
        name="core.audit_activity", title="Audit activity by day",
        permission="core.audit.view", run=_audit_activity, params=PeriodParams,
        chart=Chart("bar", "day", ("changes", "sign_in_failures")),
        description="How many sensitive changes and failed sign-ins were recorded each day.")


