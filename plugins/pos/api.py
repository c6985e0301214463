"""The pos JSON API under /api/v1/pos (../shared/API.md, pos). Thin: parse,
authorize (``endpoint``), call one service, render."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from core import document_to_dict, endpoint, paginate, render_html, render_text

from plugins.pos import services
from plugins.pos.schemas import (CloseReportSchema, LookupArgs, OfferArgs, OfferSchema,
                                 PrintedSchema, ProductCardSchema, ReceiptArgs,
                                 RegisterCreateSchema, RegisterSchema, ReturnCreateSchema,
                                 SaleCreateSchema, SaleListArgs, SaleSchema, ShiftCloseSchema,
                                 ShiftOpenSchema, ShiftSchema)

api = Blueprint("pos", __name__, url_prefix="/api/v1/pos")
TAGS = ["pos"]


@api.get("/registers")
@endpoint(permission="pos.register.view", response=RegisterSchema, many=True, tags=TAGS)
def list_registers() -> Any:
    """Registers, by name, with their open session if any."""
    registers = list(g.session.scalars(services.registers_query()))
    open_by_register = {s.register_id: s.id for s in services.open_shifts(g.session)}
    for r in registers:
        r._open_session_id = open_by_register.get(r.id)
    return registers


@api.post("/registers")
@endpoint(permission="pos.register.manage", body=RegisterCreateSchema, response=RegisterSchema,
          status=201, tags=TAGS, errors=(409, 422))
def create_register(data: dict[str, Any]) -> Any:
    """Add a register at a stock location, optionally with its receipt printer."""
    return services.create_register(g.session, g.actor, data)


@api.post("/registers/<int:register_id>/sessions")
@endpoint(permission="pos.session.open", body=ShiftOpenSchema, response=ShiftSchema, status=201,
          tags=TAGS, errors=(404, 409))
def open_session(register_id: int, data: dict[str, Any]) -> Any:
    """Open a till session (shift) with its opening float."""
    return services.open_shift(g.session, g.actor, register_id, data["opening_cash"])


@api.get("/sessions/<int:session_id>")
@endpoint(permission="pos.session.open", response=ShiftSchema, tags=TAGS, errors=(404,))
def get_session(session_id: int) -> Any:
    """One till session."""
    return services.get_shift(g.session, session_id)


@api.get("/sessions/<int:session_id>/report")
@endpoint(permission="pos.session.report", response=CloseReportSchema, tags=TAGS, errors=(404,))
def session_report(session_id: int) -> Any:
    """The session's report so far (X report), or its close (Z) report once closed."""
    shift = services.get_shift(g.session, session_id)
    if shift.status == "closed" and shift.report:
        return shift.report
    return services.close_report(g.session, shift)


@api.post("/sessions/<int:session_id>/close")
@endpoint(permission="pos.session.close", body=ShiftCloseSchema, response=CloseReportSchema,
          tags=TAGS, errors=(404, 409))
def close_session(session_id: int, data: dict[str, Any]) -> Any:
    """Close the session with the counted cash: the close (Z) report."""
    shift = services.close_shift(g.session, g.actor, session_id, data["counted_cash"],
                                 data.get("note") or "")
    return shift.report


@api.post("/sales")
@endpoint(permission="pos.sale.create", body=SaleCreateSchema, response=SaleSchema, status=201,
          idempotent=True, tags=TAGS, errors=(403, 409, 422))
def create_sale(data: dict[str, Any]) -> Any:
    """Complete a sale: lines, tenders, change (honours Idempotency-Key)."""
    return services.complete_sale(
        g.session, g.actor, shift_id=data["session_id"], customer_id=data.get("customer_id"),
        lines=data["lines"], payments=[(p["method"], p["amount"]) for p in data["payments"]],
        ticket_id=data.get("ticket_id"), note=data.get("note") or "",
        print_receipt=data.get("print_receipt"))


@api.get("/sales")
@endpoint(permission="pos.sale.view", query=SaleListArgs, response=SaleSchema, paginated=True,
          tags=TAGS)
def list_sales(args: dict[str, Any]) -> Any:
    """Sales and returns, newest first: by number, customer, serial or barcode."""
    return paginate(g.session, services.sales_query(args), args["page"], args["per_page"])


@api.get("/sales/<int:sale_id>")
@endpoint(permission="pos.sale.view", response=SaleSchema, tags=TAGS, errors=(404,))
def get_sale(sale_id: int) -> Any:
    """One sale or return."""
    return services.get_sale(g.session, sale_id)


@api.post("/sales/<int:sale_id>/returns")
@endpoint(permission="pos.sale.refund", body=ReturnCreateSchema, response=SaleSchema, status=201,
          idempotent=True, tags=TAGS, errors=(404, 409, 422))
def create_return(sale_id: int, data: dict[str, Any]) -> Any:
    """Return some or all lines and refund them (never more than sold or paid)."""
    return services.return_sale(g.session, g.actor, sale_id, data)


@api.get("/sales/<int:sale_id>/receipt")
@endpoint(permission="pos.sale.view", query=ReceiptArgs, tags=TAGS, errors=(404,),
          content_type="text/plain,text/html,application/json")
def sale_receipt(sale_id: int, args: dict[str, Any]) -> Any:
    """The receipt: plain text (default), ``?format=html`` preview, or the document as JSON."""
    doc = services.receipt_document(g.session, services.get_sale(g.session, sale_id))
    if args["format"] == "html":
        return Response(render_html(doc), mimetype="text/html")
    if args["format"] == "json":
        return document_to_dict(doc)
    return Response(render_text(doc), mimetype="text/plain")


@api.post("/sales/<int:sale_id>/print")
@endpoint(permission="pos.sale.print", response=PrintedSchema, status=202, tags=TAGS,
          errors=(404, 409))
def print_sale(sale_id: int) -> Any:
    """Queue the receipt on the register's printer (409 when nothing can print it)."""
    sale = services.get_sale(g.session, sale_id)
    return {"job_id": services.print_receipt(g.session, g.actor, sale), "sale_id": sale.id}


@api.get("/lookup")
@endpoint(permission="pos.sale.create", query=LookupArgs, response=ProductCardSchema, tags=TAGS,
          errors=(404,))
def lookup(args: dict[str, Any]) -> Any:
    """The product a scanned barcode or typed SKU names (the till never loads the catalog)."""
    return services.till_product(g.session, args["code"])


@api.get("/offers")
@endpoint(permission="pos.sale.create", query=OfferArgs, response=OfferSchema, many=True,
          tags=TAGS)
def offers(args: dict[str, Any]) -> Any:
    """What other plugins offer on a till line (extended warranty plans)."""
    return services.sale_line_offers(g.session, args["product_id"], args.get("serial"),
                                     args.get("customer_id"))
