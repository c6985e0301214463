"""The service desk's reports (through ``register_reports``: table, CSV and chart).

Technician performance reads ``repairs_tech_month`` (one row per technician, month
and product kind, kept up to date in the unit of work of each completion, pickup
and comeback), so a year or the whole history is a GROUP BY over a few hundred
rows. Open tickets by status and age reads the open tickets only (index on status,
opened_at).
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core import Chart, Column, Report, ReportResult, utcnow
from plugins.repairs import records
from plugins.repairs.models import OPEN_STATUSES, TechMonth, Ticket

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month_field(**kw: Any) -> fields.String:
    return fields.String(validate=validate.Regexp(MONTH, error="A month as YYYY-MM."), **kw)


class PerformanceParams(Schema):
    """Months ``start``..``end`` inclusive (default: the last twelve); ``all`` for the
    whole history; ``by`` technician or technician and month."""
    start = _month_field(load_default=None)
    end = _month_field(load_default=None)
    all = fields.Boolean(load_default=False)
    by = fields.String(load_default="technician", validate=validate.OneOf(("technician", "month")))
    product_kind = fields.String(load_default=None, validate=validate.Length(max=16))

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError("start must not be after end", field_name="start")


def month_range(params: dict[str, Any], today: dt.date | None = None) -> tuple[str | None, str | None]:
    if params.get("all"):
        return params.get("start"), params.get("end")
    today = today or utcnow().date()
    end = params.get("end") or f"{today.year:04d}-{today.month:02d}"
    if params.get("start"):
        return params["start"], end
    y, m = int(end[:4]), int(end[5:])
    m -= 11
    while m <= 0:
        m, y = m + 12, y - 1
    return f"{y:04d}-{m:02d}", end


def technician_performance(session: Session, params: dict[str, Any]) -> ReportResult:
    start, end = month_range(params)
    by_month = params.get("by") == "month"
    keys = [TechMonth.technician_id] + ([TechMonth.month] if by_month else [])
    stmt = select(*keys, func.sum(TechMonth.completed), func.sum(TechMonth.labor_minutes),
                  func.sum(TechMonth.estimated_minutes), func.sum(TechMonth.turnaround_seconds),
                  func.sum(TechMonth.comebacks), func.sum(TechMonth.labor_revenue),
                  func.sum(TechMonth.parts_revenue)).group_by(*keys)
    if start:
        stmt = stmt.where(TechMonth.month >= start)
    if end:
        stmt = stmt.where(TechMonth.month <= end)
    if params.get("product_kind"):
        stmt = stmt.where(TechMonth.product_kind == params["product_kind"])
    raw = session.execute(stmt).all()
    names = records.user_names(session, {r[0] for r in raw if r[0]})
    rows = []
    for r in raw:
        tech, rest = r[0], list(r[1:])
        month = rest.pop(0) if by_month else None
        completed, minutes, estimated, turnaround, comebacks, labor, parts = rest
        completed = int(completed or 0)
        avg_days = (Decimal(int(turnaround or 0)) / Decimal(86400) / completed).quantize(Decimal("0.1")) \
            if completed else None
        row = [names.get(tech, "(unassigned)" if not tech else f"user {tech}")]
        if by_month:
            row.append(month)
        row += [completed, (Decimal(int(minutes or 0)) / 60).quantize(Decimal("0.01")),
                (Decimal(int(estimated or 0)) / 60).quantize(Decimal("0.01")), avg_days,
                int(comebacks or 0), Decimal(labor or 0).quantize(Decimal("0.01")),
                Decimal(parts or 0).quantize(Decimal("0.01"))]
        rows.append(tuple(row))
    rows.sort(key=lambda r: (r[0], r[1]) if by_month else (r[0],))
    columns = [Column("technician", "Technician")]
    if by_month:
        columns.append(Column("month", "Month"))
    columns += [Column("completed", "Tickets completed", "int"),
                Column("hours", "Hours logged", "decimal"),
                Column("estimated_hours", "Hours estimated", "decimal"),
                Column("avg_turnaround_days", "Average turnaround (days)", "decimal"),
                Column("comebacks", "Comebacks", "int"),
                Column("labor_revenue", "Labour revenue", "money"),
                Column("parts_revenue", "Parts revenue", "money")]
    return ReportResult(columns=columns, rows=rows)


AGE_BUCKETS = (("age_0_2", "0–2 days", 0, 3), ("age_3_7", "3–7 days", 3, 8),
               ("age_8_14", "8–14 days", 8, 15), ("age_15_30", "15–30 days", 15, 31),
               ("age_over_30", "Over 30 days", 31, None))


class NoParams(Schema):
    pass


def open_tickets(session: Session, params: dict[str, Any]) -> ReportResult:
    now = utcnow()
    cols = []
    for key, _title, lo, hi in AGE_BUCKETS:
        newest = now - dt.timedelta(days=lo)
        cond = Ticket.opened_at <= newest if lo else Ticket.opened_at <= now + dt.timedelta(days=1)
        if hi is not None:
            cond = cond & (Ticket.opened_at > now - dt.timedelta(days=hi))
        cols.append(func.sum(case((cond, 1), else_=0)).label(key))
    raw = {r[0]: r[1:] for r in session.execute(
        select(Ticket.status, func.count(), *cols).where(Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.status))}
    rows = [(status.replace("_", " "), *(int(v or 0) for v in raw.get(status, (0,) * 6)))
            for status in OPEN_STATUSES]
    return ReportResult(columns=[Column("status", "Status"), Column("open", "Open", "int")] +
                        [Column(key, title, "int") for key, title, _lo, _hi in AGE_BUCKETS],
                        rows=rows)


def repairs_reports() -> list[Report]:
    return [
        Report("repairs.technician_performance", "Technician performance",
               "repairs.reports.view", technician_performance, params=PerformanceParams,
               chart=Chart("bar", "technician", ("completed", "comebacks")),
               description="Tickets completed, hours logged against estimate, average "
                           "turnaround, comebacks, labour and parts revenue per technician "
                           "(last twelve months unless start/end or all=true)."),
        Report("repairs.open_tickets", "Open tickets by status and age", "repairs.reports.view",
               open_tickets, params=NoParams,
               chart=Chart("bar", "status", tuple(key for key, *_ in AGE_BUCKETS)),
               description="Tickets not yet collected or cancelled, by status and days since intake."),
    ]
