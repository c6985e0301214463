"""The service desk's screens (templates under templates/repairs/): intake, the board
by status, a technician's queue, the ticket page with its timeline, the receipt
preview, and the customer's public status page. Thin: parse the form, call one
service, redirect (a refused form flashes the service's message and goes back)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from core import DomainError, Invalid, public, render_html, require
from plugins.repairs import records, services
from plugins.repairs.api import ticket_detail, ticket_for_link
from plugins.repairs.models import APPROVAL_CHANNELS, HOLD_REASONS, OPEN_STATUSES, Ticket

pages = Blueprint("repairs_pages", __name__, url_prefix="/repairs", template_folder="templates")


# ------------------------------------------------------------------ form parsing

def _text(name: str, max_len: int = 5000) -> str:
    value = (request.form.get(name) or "").strip()
    if len(value) > max_len:
        raise Invalid(f"{name} is too long.", fields={name: [f"At most {max_len} characters."]})
    return value


def _int(name: str, *, source: Any = None) -> int | None:
    raw = ((source or request.form).get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 15:
        raise Invalid(f"{name} must be a whole number.", fields={name: ["A whole number."]})
    return int(raw)


def _decimal(name: str, *, places: str, maximum: int, what: str, example: str,
             unit: str = "") -> Decimal | None:
    """A number typed in a form (``unit`` after it allowed), from 0 to ``maximum``
    with at most ``places`` decimals (the bound checked first: a huge number cannot
    be quantized)."""
    raw = (request.form.get(name) or "").strip()
    if unit:
        raw = raw.removesuffix(unit).strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 <= value <= maximum or value != value.quantize(Decimal(places)):
        raise Invalid(f"{name} must be {what}.", fields={name: [f"{what.capitalize()} such as {example}."]})
    return value


def _money(name: str) -> Decimal | None:
    return _decimal(name, places="0.01", maximum=10**9, what="an amount", example="19.99")


def _percent(name: str) -> Decimal | None:
    return _decimal(name, places="0.001", maximum=100, what="a percentage", example="8.25",
                    unit="%")


def _date(name: str) -> dt.date | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name} must be a date.", fields={name: ["A date (YYYY-MM-DD)."]}) from None


def _act(action: Callable[[], Any], back: str) -> Any:
    """Run a service; on a refusal undo its writes, flash why and go back."""
    try:
        result = action()
    except DomainError as exc:
        g.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    return result


# ------------------------------------------------------------------ intake

@pages.get("/intake")
@require("repairs.ticket.create")
def intake() -> Any:
    """Phone (or name) first; then the unit: scan the serial, or describe it."""
    phone = (request.args.get("phone") or "").strip()[:40]
    customer = None
    matches: list[Any] = []
    customer_id = _int("customer_id", source=request.args)
    if customer_id:
        customer = records.customer(g.session, customer_id)
    elif phone:
        ids = records.customer_ids_by_phone(g.session, phone, limit=20) \
            if sum(ch.isdigit() for ch in phone) >= 3 else []
        matches = list(records.customers_by_ids(g.session, set(ids)).values())
    products = _serialized_products()
    return render_template("repairs/intake.html", phone=phone, customer=customer, matches=matches,
                           products=products, form={})


def _serialized_products() -> list[Any]:
    return records.serialized_products(g.session)


@pages.post("/intake")
@require("repairs.ticket.create")
def intake_post() -> Any:
    back = request.full_path

    def create() -> Any:
        customer_id = _int("customer_id")
        if customer_id is None:
            raise Invalid("Choose the customer first.", fields={"customer_id": ["Required."]})
        data: dict[str, Any] = {"customer_id": customer_id, "problem": _text("problem"),
                                "instructions": _text("instructions"),
                                "accessories": _text("accessories", 2000),
                                "condition": _text("condition", 2000),
                                "rush": request.form.get("rush") == "on",
                                "promised_for": _date("promised_for"), "estimate": _money("estimate")}
        if not data["problem"]:
            raise Invalid("Describe the problem in the customer's words.", fields={"problem": ["Required."]})
        serial = _text("serial", 100)
        if serial:
            data["product_id"], data["serial"] = _int("product_id"), serial
        else:
            data["item_description"] = _text("item_description", 300)
        deposit = _money("deposit_amount")
        if deposit:
            data["deposit"] = {"amount": deposit, "method": _text("deposit_method", 30) or "cash",
                               "reference": _text("deposit_reference", 120)}
        return services.create_ticket(g.session, g.actor, data)

    ticket = _act(create, url_for("repairs_pages.intake", customer_id=request.form.get("customer_id")))
    if not isinstance(ticket, Ticket):
        return ticket
    flash(f"Ticket {ticket.number} opened.", "success")
    return redirect(url_for("repairs_pages.ticket", ticket_id=ticket.id, new=1))


# ------------------------------------------------------------------ board and queue

@pages.get("/")
@require("repairs.ticket.view")
def board() -> Any:
    q = (request.args.get("q") or "").strip()[:200]
    found = [t for t, _exact in services.search_tickets(g.session, q, 50)] if q else None
    return render_template("repairs/board.html", columns=services.board(g.session), q=q,
                           found=found, labels=services.STATUS_LABELS)


@pages.get("/queue")
@require("repairs.ticket.view")
def queue() -> Any:
    tech = _int("technician_id", source=request.args) or g.actor.id
    users = records.user_names(g.session, {tech})
    return render_template("repairs/queue.html", tickets=services.technician_queue(g.session, tech),
                           technician=users.get(tech, f"user {tech}"), today=dt.date.today())


# ------------------------------------------------------------------ the ticket

def _users() -> dict[int, str]:
    return records.user_names(g.session, records.active_user_ids(g.session))


@pages.get("/tickets/<int:ticket_id>")
@require("repairs.ticket.view")
def ticket(ticket_id: int) -> Any:
    t = services.get_ticket(g.session, ticket_id)
    parts = records.part_products(g.session)
    customer = records.customer(g.session, t.customer_id)
    quote = services.pickup_quote(g.session, t)   # the detail's charges and "Owed now"
    return render_template(
        "repairs/ticket.html", t=t, d=ticket_detail(g.session, t, quote), customer=customer,
        timeline=services.timeline(g.session, t), next_statuses=sorted(
            s for s in services.TRANSITIONS[t.status] if s != "collected"),
        hold_reasons=HOLD_REASONS, channels=[c for c in APPROVAL_CHANNELS if c != "status_link"],
        users=_users(), part_products=parts, labels=services.STATUS_LABELS,
        pending=services.pending_estimate(g.session, t), new=request.args.get("new"),
        owed=quote if services.awaits_pickup(g.session, t) else None)


def _ticket_action(ticket_id: int, action: Callable[[Ticket], Any], done: str) -> Any:
    back = url_for("repairs_pages.ticket", ticket_id=ticket_id)
    t = services.get_ticket(g.session, ticket_id, lock=True)
    result = _act(lambda: action(t), back)
    if result is not None and getattr(result, "status_code", None) in (302, 303):
        return result
    flash(done, "success")
    return redirect(back)


@pages.post("/tickets/<int:ticket_id>/transition")
@require("repairs.ticket.transition")
def transition(ticket_id: int) -> Any:
    to = request.form.get("to") or ""
    reason = request.form.get("reason") or None
    return _ticket_action(ticket_id, lambda t: services.transition(
        g.session, g.actor, t, to, note=_text("note", 2000),
        reason=reason if to == "on_hold" else None), f"Moved to {to.replace('_', ' ')}.")


@pages.post("/tickets/<int:ticket_id>/assign")
@require("repairs.ticket.assign")
def assign(ticket_id: int) -> Any:
    return _ticket_action(ticket_id, lambda t: services.assign(
        g.session, g.actor, t, _int("technician_id")), "Assigned.")


@pages.post("/tickets/<int:ticket_id>/notes")
@require("repairs.ticket.edit")
def add_note(ticket_id: int) -> Any:
    def act(t: Ticket) -> Any:
        body = _text("body")
        if not body:
            raise Invalid("Write the note.", fields={"body": ["Required."]})
        visibility = "customer" if request.form.get("visibility") == "customer" else "internal"
        return services.add_note(g.session, g.actor, t, body, visibility)
    return _ticket_action(ticket_id, act, "Note added.")


@pages.post("/tickets/<int:ticket_id>/labor")
@require("repairs.work.record")
def add_labor(ticket_id: int) -> Any:
    def act(t: Ticket) -> Any:
        minutes = _int("minutes")
        if not minutes or minutes > 10_000:
            raise Invalid("Give the minutes worked.", fields={"minutes": ["1 to 10000."]})
        return services.add_labor(g.session, g.actor, t, {
            "minutes": minutes, "description": _text("description", 300) or "Labour",
            "technician_id": _int("technician_id")})
    return _ticket_action(ticket_id, act, "Labour recorded.")


@pages.post("/tickets/<int:ticket_id>/parts")
@require("repairs.work.record")
def add_part(ticket_id: int) -> Any:
    def act(t: Ticket) -> Any:
        product_id = _int("product_id")
        if product_id is None:
            raise Invalid("Choose the part.", fields={"product_id": ["Required."]})
        return services.add_part(g.session, g.actor, t, {
            "product_id": product_id, "quantity": _int("quantity") or 1,
            "serial": _text("serial", 100) or None})
    return _ticket_action(ticket_id, act, "Part added.")


@pages.post("/tickets/<int:ticket_id>/estimate")
@require("repairs.estimate.manage")
def estimate(ticket_id: int) -> Any:
    return _ticket_action(ticket_id, lambda t: services.request_estimate(
        g.session, g.actor, t, amount=_money("amount"), tax_rate=_percent("tax_rate"),
        note=_text("note", 2000)), "Estimate sent to the customer.")


@pages.post("/tickets/<int:ticket_id>/approval")
@require("repairs.estimate.manage")
def approval(ticket_id: int) -> Any:
    via = request.form.get("via") or "in_person"
    if via not in APPROVAL_CHANNELS or via == "status_link":
        via = "in_person"
    return _ticket_action(ticket_id, lambda t: services.decide_estimate(
        g.session, g.actor, t, approved=request.form.get("approved") == "yes", via=via,
        note=_text("note", 2000)), "Answer recorded.")


@pages.post("/tickets/<int:ticket_id>/checkout")
@require("repairs.ticket.checkout")
def checkout(ticket_id: int) -> Any:
    def act(t: Ticket) -> Any:
        unit_ids = [int(u) for u in request.form.getlist("unit_id") if u.isdigit() and len(u) < 15]
        return services.checkout(g.session, g.actor, t, {
            "unit_ids": unit_ids, "payment_method": _text("payment_method", 30),
            "payment_reference": _text("payment_reference", 120),
            "pos_session_id": _int("pos_session_id")})
    return _ticket_action(ticket_id, act, "Checked out.")


@pages.post("/tickets/<int:ticket_id>/print")
@require("repairs.ticket.view")
def print_receipt(ticket_id: int) -> Any:
    t = services.get_ticket(g.session, ticket_id)
    job = services.print_receipt(g.session, g.actor, t, None)
    flash("Receipt sent to the printer." if job else
          "No printer is set up: use the preview and print from the browser.",
          "success" if job else "warning")
    return redirect(url_for("repairs_pages.ticket", ticket_id=ticket_id))


@pages.get("/tickets/<int:ticket_id>/receipt")
@require("repairs.ticket.view")
def receipt(ticket_id: int) -> Any:
    t = services.get_ticket(g.session, ticket_id)
    doc = services.receipt_document(g.session, t)
    return render_template("repairs/receipt.html", t=t, receipt=render_html(doc), qr=doc.qr)


# ------------------------------------------------------------------ the customer's page

@pages.get("/status/<number>")
@public
def status_page(number: str) -> Any:
    token = (request.args.get("t") or "")[:200]
    t = ticket_for_link(number[:40], token)
    return render_template("repairs/status.html", view=services.public_view(g.session, t),
                           token=token)


@pages.post("/status/<number>/decision")
@public
def status_decision(number: str) -> Any:
    """The approve/decline form of the public page. What authorises it is the secret
    status token carried in the form (never a login session); the kernel's CSRF
    token rides along as for every form."""
    token = (request.form.get("t") or "")[:200]
    t = ticket_for_link(number[:40], token)
    decision = request.form.get("decision")
    if decision not in ("approve", "decline"):
        raise Invalid("Approve or decline.", fields={"decision": ["approve or decline"]})
    locked = services.get_ticket(g.session, t.id, lock=True)
    back = url_for("repairs_pages.status_page", number=t.number, t=token)
    result = _act(lambda: services.decide_estimate(g.session, None, locked,
                                                   approved=decision == "approve",
                                                   via="status_link"), back)
    if getattr(result, "status_code", None) in (302, 303):
        return result
    flash("Thank you — we have your answer." if decision == "approve" else
          "Understood — we will not go ahead. We will be in touch.", "success")
    return redirect(back, code=303)


__all__ = ["pages", "OPEN_STATUSES"]
