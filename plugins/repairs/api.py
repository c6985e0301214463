"""The repairs JSON API under /api/v1/repairs, and the customer's status API under
/api/v1/public/tickets (../shared/API.md, repairs). Thin: parse, authorize, call a
service, render."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from core import NotFound, current_runtime, endpoint, paginate, render_html, render_text
from plugins.repairs import services
from plugins.repairs.models import Estimate, Labor, Note, Part, Pickup
from plugins.repairs.schemas import (ApprovalIn, AssignIn, ChargesOut, CheckoutIn, EstimateIn,
                                     EstimateOut, LaborIn, LaborOut, NoteIn, NoteOut, PartIn,
                                     PartOut, PickupOut, PrintIn, PrintOut, PublicArgs,
                                     PublicDecisionIn, PublicTicketOut, ReceiptArgs,
                                     TicketCreate, TicketDetailOut, TicketListArgs, TicketOut,
                                     TicketUpdate, TransitionIn)
from sqlalchemy import select

api = Blueprint("repairs", __name__, url_prefix="/api/v1/repairs")
public_api = Blueprint("repairs_public", __name__, url_prefix="/api/v1/public")
TAGS = ["repairs"]


def ticket_detail(session: Any, ticket: Any, quote: Any = None) -> dict[str, Any]:
    """A ticket with its notes, work, estimates, pickups and what it still owes
    (``quote``: its :func:`services.pickup_quote`, computed when not given)."""
    def rows(model: Any, order: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.ticket_id == ticket.id).order_by(order)))
    out = TicketOut().dump(ticket)
    out["notes"] = NoteOut(many=True).dump(rows(Note, Note.id))
    out["labor"] = LaborOut(many=True).dump(rows(Labor, Labor.id))
    out["parts"] = PartOut(many=True).dump(rows(Part, Part.id))
    out["estimates"] = EstimateOut(many=True).dump(rows(Estimate, Estimate.id))
    out["pickups"] = PickupOut(many=True).dump(rows(Pickup, Pickup.id))
    out["charges"] = ChargesOut().dump(quote or services.pickup_quote(session, ticket))
    return out


def _detail_response(ticket: Any, status: int = 200) -> Response:
    resp = jsonify(ticket_detail(g.session, ticket))
    resp.status_code = status
    return resp


@api.post("/tickets")
@endpoint(permission="repairs.ticket.create", body=TicketCreate, response=TicketDetailOut,
          status=201, idempotent=True, tags=TAGS, errors=(409, 422))
def create_ticket(data: dict[str, Any]) -> Any:
    """Open a ticket at the counter (units, problem, deposit); answers its status link."""
    return _detail_response(services.create_ticket(g.session, g.actor, data), 201)


@api.get("/tickets")
@endpoint(permission="repairs.ticket.view", query=TicketListArgs, response=TicketOut,
          paginated=True, tags=TAGS)
def list_tickets(args: dict[str, Any]) -> Any:
    """Tickets, newest first; ``q`` finds by number, customer name or phone, serial,
    product or problem words."""
    return paginate(g.session, services.list_tickets_stmt(g.session, args), args["page"],
                    args["per_page"])


@api.get("/queue")
@endpoint(permission="repairs.ticket.view", query=TicketListArgs, response=TicketOut, many=True,
          tags=TAGS)
def queue(args: dict[str, Any]) -> Any:
    """A technician's open work (default: yours): rush first, then by promised date."""
    tech = args.get("technician_id") or g.actor.id
    return services.technician_queue(g.session, tech)


@api.get("/tickets/<int:ticket_id>")
@endpoint(permission="repairs.ticket.view", response=TicketDetailOut, tags=TAGS, errors=(404,))
def get_ticket(ticket_id: int) -> Any:
    """One ticket with its notes, parts, labour, estimates, pickups and charges."""
    return _detail_response(services.get_ticket(g.session, ticket_id))


@api.patch("/tickets/<int:ticket_id>")
@endpoint(permission="repairs.ticket.edit", body=TicketUpdate, response=TicketDetailOut,
          tags=TAGS, errors=(404, 409, 422))
def update_ticket(ticket_id: int, data: dict[str, Any]) -> Any:
    """Change the problem, instructions, rush, priority, accessories, condition or promise."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    return _detail_response(services.update_ticket(g.session, g.actor, ticket, data))


@api.post("/tickets/<int:ticket_id>/transitions")
@endpoint(permission="repairs.ticket.transition", body=TransitionIn, response=TicketDetailOut,
          tags=TAGS, errors=(404, 409, 422))
def transition(ticket_id: int, data: dict[str, Any]) -> Any:
    """Move the ticket to another status; an impossible move is 409."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    services.transition(g.session, g.actor, ticket, data["to"], note=data["note"],
                        reason=data["reason"])
    return _detail_response(ticket)


@api.post("/tickets/<int:ticket_id>/assign")
@endpoint(permission="repairs.ticket.assign", body=AssignIn, response=TicketDetailOut, tags=TAGS,
          errors=(404, 409, 422))
def assign(ticket_id: int, data: dict[str, Any]) -> Any:
    """Give the ticket to a technician (null: unassign)."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    return _detail_response(services.assign(g.session, g.actor, ticket, data["technician_id"]))


@api.post("/tickets/<int:ticket_id>/notes")
@endpoint(permission="repairs.ticket.edit", body=NoteIn, response=NoteOut, status=201, tags=TAGS,
          errors=(404, 422))
def add_note(ticket_id: int, data: dict[str, Any]) -> Any:
    """A note: internal, or shown to the customer on the status page."""
    ticket = services.get_ticket(g.session, ticket_id)
    return services.add_note(g.session, g.actor, ticket, data["body"], data["visibility"])


@api.post("/tickets/<int:ticket_id>/labor")
@endpoint(permission="repairs.work.record", body=LaborIn, response=LaborOut, status=201,
          tags=TAGS, errors=(404, 409, 422))
def add_labor(ticket_id: int, data: dict[str, Any]) -> Any:
    """Labour at the shop's rate; beyond the approved amount asks the customer again."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    return services.add_labor(g.session, g.actor, ticket, data)


@api.post("/tickets/<int:ticket_id>/parts")
@endpoint(permission="repairs.work.record", body=PartIn, response=PartOut, status=201, tags=TAGS,
          errors=(404, 409, 422))
def add_part(ticket_id: int, data: dict[str, Any]) -> Any:
    """A part from stock, reserved to the ticket; short stock marks the line to_order."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    return services.add_part(g.session, g.actor, ticket, data)


@api.delete("/tickets/<int:ticket_id>/parts/<int:part_id>")
@endpoint(permission="repairs.work.record", response=PartOut, tags=TAGS, errors=(404, 409))
def remove_part(ticket_id: int, part_id: int) -> Any:
    """Take a part off the ticket; its reserved stock is released."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    return services.remove_part(g.session, g.actor, ticket, part_id)


@api.post("/tickets/<int:ticket_id>/estimate")
@endpoint(permission="repairs.estimate.manage", body=EstimateIn, response=EstimateOut,
          status=201, tags=TAGS, errors=(404, 409, 422))
def request_estimate(ticket_id: int, data: dict[str, Any]) -> Any:
    """Quote the customer, tax stated (the work recorded, or an amount); → awaiting_approval."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    return services.request_estimate(g.session, g.actor, ticket, amount=data.get("amount"),
                                     tax_rate=data.get("tax_rate"), note=data["note"])


@api.post("/tickets/<int:ticket_id>/approval")
@endpoint(permission="repairs.estimate.manage", body=ApprovalIn, response=EstimateOut, tags=TAGS,
          errors=(404, 409, 422))
def record_approval(ticket_id: int, data: dict[str, Any]) -> Any:
    """Record the customer's yes or no, and how it came."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    return services.decide_estimate(g.session, g.actor, ticket, approved=data["approved"],
                                    via=data["via"], note=data["note"])


@api.get("/tickets/<int:ticket_id>/receipt")
@endpoint(permission="repairs.ticket.view", query=ReceiptArgs, tags=TAGS, errors=(404,),
          content_type="text/plain")
def receipt(ticket_id: int, args: dict[str, Any]) -> Any:
    """The drop-off receipt as text (``format=html`` for a preview)."""
    doc = services.receipt_document(g.session, services.get_ticket(g.session, ticket_id))
    if args["format"] == "html":
        return Response(render_html(doc), mimetype="text/html")
    return Response(render_text(doc, args["columns"]), mimetype="text/plain")


@api.post("/tickets/<int:ticket_id>/print")
@endpoint(permission="repairs.ticket.view", body=PrintIn, response=PrintOut, status=202,
          tags=TAGS, errors=(404,))
def print_receipt(ticket_id: int, data: dict[str, Any]) -> Any:
    """Print the drop-off receipt (devices plugin); ``printed`` false when nothing prints."""
    job = services.print_receipt(g.session, g.actor, services.get_ticket(g.session, ticket_id),
                                 data["printer_id"])
    return {"job_id": job, "printed": job is not None}


@api.get("/tickets/<int:ticket_id>/charges")
@endpoint(permission="repairs.ticket.view", response=ChargesOut, tags=TAGS, errors=(404,))
def charges(ticket_id: int) -> Any:
    """What checking out every unit still here charges now, tax and deposit included.

    The parts and labour not yet charged, each line before tax, its tax and total as
    checkout charges it, their sums, the deposit applied and the amount due
    (negative: paid back)."""
    return services.pickup_quote(g.session, services.get_ticket(g.session, ticket_id))


@api.post("/tickets/<int:ticket_id>/checkout")
@endpoint(permission="repairs.ticket.checkout", body=CheckoutIn, response=PickupOut, status=201,
          idempotent=True, tags=TAGS, errors=(404, 409, 422))
def checkout(ticket_id: int, data: dict[str, Any]) -> Any:
    """Hand units back: a till sale (pos) or a recorded payment; a ready ticket is
    collected when all are out. A cancelled ticket's units are handed back the same
    way: the labour recorded is charged, the rest of the deposit paid back; it stays
    cancelled."""
    ticket = services.get_ticket(g.session, ticket_id, lock=True)
    return services.checkout(g.session, g.actor, ticket, data)


# ------------------------------------------------------------------ public

def remember_failure(ip: str, number: str) -> None:
    """A wrong link is remembered even though the answer (404) rolls the request back:
    a reading request records it in its own unit of work; a writing one commits it
    before answering (nothing else has been written by then)."""
    if request.method in ("GET", "HEAD"):
        with current_runtime().unit_of_work() as s:
            services.record_public_failure(s, ip, number)
    else:
        services.record_public_failure(g.session, ip, number)
        g.session.commit()


def ticket_for_link(number: str, token: str) -> Any:
    """The ticket behind a status link; 429 while guessing is throttled; 404 for a
    wrong number or token alike."""
    ip = request.remote_addr or "?"
    services.check_public_throttle(g.session, ip, number[:40])
    ticket = services.ticket_for_link(g.session, number, token)
    if ticket is None:
        remember_failure(ip, number)
        raise NotFound("No such ticket, or the link is not valid.", code="ticket_not_found")
    return ticket


@public_api.get("/tickets/<number>")
@endpoint(public=True, query=PublicArgs, response=PublicTicketOut, tags=TAGS, errors=(404, 429))
def public_ticket(number: str, args: dict[str, Any]) -> Any:
    """The customer's view of a repair (the secret link): status, promised date,
    notes for them, an estimate awaiting approval — nothing else."""
    return services.public_view(g.session, ticket_for_link(number, args["t"]))


@public_api.post("/tickets/<number>/decision")
@endpoint(public=True, body=PublicDecisionIn, response=PublicTicketOut, tags=TAGS,
          errors=(404, 409, 429))
def public_decision(number: str, data: dict[str, Any]) -> Any:
    """The customer approves or declines the estimate through the status link."""
    ticket = ticket_for_link(number, data["t"])
    services.decide_estimate(g.session, None, services.get_ticket(g.session, ticket.id, lock=True),
                             approved=data["decision"] == "approve", via="status_link")
    return services.public_view(g.session, ticket)
