"""The till screen and the receipt preview. Thin: the till's script talks to the
JSON API (``/api/v1/pos/...``, the records' ``/api/v1/customers``) with the signed-in
session and its CSRF token; these views only render pages."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template

from core import get_setting, render_html, require

from plugins.pos import services

web = Blueprint("pos_web", __name__, url_prefix="/pos", template_folder="templates")


@web.get("/")
@require("pos.sale.create")
def till() -> Any:
    registers = list(g.session.scalars(services.registers_query()))
    open_by_register = {s.register_id: s for s in services.open_shifts(g.session)}
    return render_template("pos/till.html", registers=registers, open_by_register=open_by_register,
                           currency=get_setting("core", "currency", g.session),
                           include_tax=get_setting("core", "prices_include_tax", g.session),
                           discount_limit=get_setting("pos", "discount_limit_percent", g.session))


@web.get("/sales/<int:sale_id>")
@require("pos.sale.view")
def sale(sale_id: int) -> Any:
    sale = services.get_sale(g.session, sale_id)
    doc = services.receipt_document(g.session, sale)
    email = None
    if sale.customer_id:
        from core import Customer
        customer = g.session.get(Customer, sale.customer_id)
        email = customer.email if customer else None
    from core import render_text
    return render_template("pos/sale.html", sale=sale, receipt_html=render_html(doc),
                           receipt_text=render_text(doc), email=email)
