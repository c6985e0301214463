"""The records' JSON API under /api/v1 (../shared/API.md, Kernel section): customers,
vendors, products, items, locations, stock, stock moves and reservations. Thin:
parse, authorize (``endpoint(permission=...)``), call one service, render."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g
from sqlalchemy import bindparam, func, select

from core.records import catalog, items, parties, stock
from core.records.schemas import (CustomerCreatedSchema, CustomerCreateSchema, CustomerListArgs,
                                  CustomerSchema, CustomerUpdateSchema, ItemCreateSchema,
                                  ItemListArgs, ItemSchema, ItemUpdateSchema, LocationCreateSchema,
                                  LocationListArgs, LocationSchema, MergeSchema,
                                  ProductCreateSchema, ProductListArgs, ProductSchema,
                                  ProductUpdateSchema, ReservationConsumeSchema,
                                  ReservationCreateSchema, ReservationListArgs, ReservationSchema,
                                  StockArgs, StockLevelSchema, StockMoveCreateSchema,
                                  StockMoveListArgs, StockMoveSchema, StockMovesCreatedSchema,
                                  TimelineEntrySchema, VendorCreateSchema, VendorListArgs,
                                  VendorSchema, VendorUpdateSchema)
from core.records.search import customer_list_stmt, product_list_stmt
from core.rest import Page, PageArgs, endpoint, paginate

records_api = Blueprint("records", __name__, url_prefix="/api/v1")


def _list_page(entries: list[Any], args: dict[str, Any]) -> Page:
    start = (args["page"] - 1) * args["per_page"]
    return Page(items=entries[start:start + args["per_page"]], total=len(entries),
                page=args["page"], per_page=args["per_page"])


# ---------------------------------------------------------------- customers

@records_api.get("/customers")
@endpoint(permission="core.customers.view", query=CustomerListArgs, response=CustomerSchema,
          paginated=True, tags=["customers"])
def list_customers(args: dict[str, Any]) -> Page:
    """Customers; ``q`` matches any name word by prefix, a phone number (or a fragment
    of 3+ digits) in any format, or an e-mail address; matches come newest first (a
    one- or two-digit phone prefix: by number). Merged customers are left out unless
    ``include_merged``."""
    stmt = customer_list_stmt(g.session, args["q"], include_merged=args["include_merged"])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@records_api.post("/customers")
@endpoint(permission="core.customers.edit", body=CustomerCreateSchema,
          response=CustomerCreatedSchema, status=201, tags=["customers"], errors=(422,))
def create_customer(data: dict[str, Any]) -> Any:
    """Create a customer; the answer lists likely duplicates (same phone or e-mail)."""
    customer = parties.create_customer(g.session, g.actor, data)
    customer.possible_duplicates = parties.possible_duplicates(g.session, customer)
    return customer


@records_api.get("/customers/<int:customer_id>")
@endpoint(permission="core.customers.view", response=CustomerSchema, tags=["customers"],
          errors=(404,))
def get_customer(customer_id: int) -> Any:
    """One customer (a merged one shows ``merged_into_id``)."""
    return parties.get_customer(g.session, customer_id)


@records_api.patch("/customers/<int:customer_id>")
@endpoint(permission="core.customers.edit", body=CustomerUpdateSchema, response=CustomerSchema,
          tags=["customers"], errors=(404, 409, 422))
def update_customer(customer_id: int, data: dict[str, Any]) -> Any:
    """Change a customer's details (audited)."""
    return parties.update_customer(g.session, g.actor, parties.get_customer(g.session, customer_id),
                                   data)


@records_api.post("/customers/<int:customer_id>/merge")
@endpoint(permission="core.customers.merge", body=MergeSchema, response=CustomerSchema,
          tags=["customers"], errors=(404, 409, 422))
def merge_customer(customer_id: int, data: dict[str, Any]) -> Any:
    """Fold customer ``from_id`` into this one with everything that points at it
    (audited); the merged customer stays, inactive, with ``merged_into_id``."""
    into = parties.get_customer(g.session, customer_id)
    merged = parties.get_customer(g.session, data["from_id"])
    return parties.merge_customers(g.session, g.actor, into, merged, hook=g.runtime.hook)


@records_api.get("/customers/<int:customer_id>/timeline")
@endpoint(permission="core.customers.view", query=PageArgs, response=TimelineEntrySchema,
          paginated=True, tags=["customers"], errors=(404,))
def customer_timeline(customer_id: int, args: dict[str, Any]) -> Page:
    """Everything enabled plugins know about the customer, newest first."""
    customer = parties.get_customer(g.session, customer_id)
    batches = g.runtime.hook.customer_timeline(session=g.session, customer=customer, actor=g.actor)
    return _list_page(items.gather_timeline(batches), args)


# ------------------------------------------------------------------ vendors

@records_api.get("/vendors")
@endpoint(permission="core.vendors.view", query=VendorListArgs, response=VendorSchema,
          paginated=True, tags=["vendors"])
def list_vendors(args: dict[str, Any]) -> Page:
    """Suppliers, manufacturers and service shops; ``q`` matches the name."""
    V = parties.Vendor
    stmt = select(V).order_by(V.name, V.id)
    if args["q"]:
        pattern = "%" + args["q"].strip().lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        # vendors are few (hundreds): a scan is fine here, unlike customers
        stmt = stmt.where(func.lower(V.name).like(pattern, escape="\\"))
    if args["kind"]:
        stmt = stmt.where(V.kind == args["kind"])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@records_api.post("/vendors")
@endpoint(permission="core.vendors.edit", body=VendorCreateSchema, response=VendorSchema,
          status=201, tags=["vendors"], errors=(422,))
def create_vendor(data: dict[str, Any]) -> Any:
    """Create a vendor."""
    return parties.create_vendor(g.session, g.actor, data)


@records_api.get("/vendors/<int:vendor_id>")
@endpoint(permission="core.vendors.view", response=VendorSchema, tags=["vendors"], errors=(404,))
def get_vendor(vendor_id: int) -> Any:
    """One vendor."""
    return parties.get_vendor(g.session, vendor_id)


@records_api.patch("/vendors/<int:vendor_id>")
@endpoint(permission="core.vendors.edit", body=VendorUpdateSchema, response=VendorSchema,
          tags=["vendors"], errors=(404, 422))
def update_vendor(vendor_id: int, data: dict[str, Any]) -> Any:
    """Change a vendor (audited)."""
    return parties.update_vendor(g.session, g.actor, parties.get_vendor(g.session, vendor_id), data)


# ----------------------------------------------------------------- products

@records_api.get("/products")
@endpoint(permission="core.products.view", query=ProductListArgs, response=ProductSchema,
          paginated=True, tags=["products"])
def list_products(args: dict[str, Any]) -> Page:
    """Products; ``q`` matches the SKU or barcode exactly, or words of the SKU, name
    and description by prefix."""
    P = catalog.Product
    stmt = product_list_stmt(g.session, args["q"])
    if args["kind"]:
        stmt = stmt.where(P.kind == args["kind"])
    if args["active"] is not None:
        stmt = stmt.where(P.active == args["active"])
    if args["vendor_id"]:
        stmt = stmt.where(P.vendor_id == args["vendor_id"])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@records_api.post("/products")
@endpoint(permission="core.products.edit", body=ProductCreateSchema, response=ProductSchema,
          status=201, tags=["products"], errors=(409, 422))
def create_product(data: dict[str, Any]) -> Any:
    """Create a product (a bad barcode check digit is a 422 that says so)."""
    return catalog.create_product(g.session, g.actor, data)


@records_api.get("/products/<int:product_id>")
@endpoint(permission="core.products.view", response=ProductSchema, tags=["products"],
          errors=(404,))
def get_product(product_id: int) -> Any:
    """One product."""
    return catalog.get_product(g.session, product_id)


@records_api.patch("/products/<int:product_id>")
@endpoint(permission="core.products.edit", body=ProductUpdateSchema, response=ProductSchema,
          tags=["products"], errors=(404, 409, 422))
def update_product(product_id: int, data: dict[str, Any]) -> Any:
    """Change a product; price, cost and tax-rate changes are audited before/after."""
    return catalog.update_product(g.session, g.actor, catalog.get_product(g.session, product_id),
                                  data)


# -------------------------------------------------------------------- items

# a scanned serial: built once, the value bound to a copy (paginate takes a statement)
_ITEMS_BY_SERIAL = (select(items.Item).where(items.Item.serial_norm == bindparam("serial_norm"))
                    .order_by(items.Item.id.desc()))


@records_api.get("/items")
@endpoint(permission="core.items.view", query=ItemListArgs, response=ItemSchema, paginated=True,
          tags=["items"])
def list_items(args: dict[str, Any]) -> Page:
    """Serialized units; ``serial`` is exact (whitespace and case ignored)."""
    I = items.Item
    if args["serial"]:
        stmt = _ITEMS_BY_SERIAL.params(serial_norm=items.normalize_serial(args["serial"]))
    else:
        stmt = select(I).order_by(I.id.desc())
    for key in ("product_id", "owner_id", "location_id", "status"):
        if args[key] is not None:
            stmt = stmt.where(getattr(I, key) == args[key])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@records_api.post("/items")
@endpoint(permission="core.items.edit", body=ItemCreateSchema, response=ItemSchema, status=201,
          tags=["items"], errors=(409, 422))
def create_item(data: dict[str, Any]) -> Any:
    """Record a unit: in stock at a location (a ledger row is written), or a
    customer's own unit (``customer_owned`` with ``owner_id``; never stock)."""
    return items.create_item(g.session, g.actor, data)


@records_api.get("/items/<int:item_id>")
@endpoint(permission="core.items.view", response=ItemSchema, tags=["items"], errors=(404,))
def get_item(item_id: int) -> Any:
    """One unit."""
    return items.get_item(g.session, item_id)


@records_api.patch("/items/<int:item_id>")
@endpoint(permission="core.items.edit", body=ItemUpdateSchema, response=ItemSchema,
          tags=["items"], errors=(404, 409, 422))
def update_item(item_id: int, data: dict[str, Any]) -> Any:
    """Change a unit's status, owner, location or notes (stock follows; audited)."""
    return items.update_item(g.session, g.actor, items.get_item(g.session, item_id), data)


@records_api.get("/items/<int:item_id>/history")
@endpoint(permission="core.items.view", query=PageArgs, response=TimelineEntrySchema,
          paginated=True, tags=["items"], errors=(404,))
def item_history(item_id: int, args: dict[str, Any]) -> Page:
    """Sales, tickets, claims and moves of this unit from every enabled plugin, newest first."""
    item = items.get_item(g.session, item_id)
    batches = g.runtime.hook.item_history(session=g.session, item=item, actor=g.actor)
    return _list_page(items.gather_timeline(batches), args)


# ---------------------------------------------------------------- locations

@records_api.get("/locations")
@endpoint(permission="core.locations.view", query=LocationListArgs, response=LocationSchema,
          paginated=True, tags=["stock"])
def list_locations(args: dict[str, Any]) -> Page:
    """Stock locations."""
    L = stock.Location
    stmt = select(L).order_by(L.name, L.id)
    if args["kind"]:
        stmt = stmt.where(L.kind == args["kind"])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@records_api.post("/locations")
@endpoint(permission="core.locations.edit", body=LocationCreateSchema, response=LocationSchema,
          status=201, tags=["stock"], errors=(409, 422))
def create_location(data: dict[str, Any]) -> Any:
    """Create a location (store, warehouse, van or vendor)."""
    return stock.create_location(g.session, g.actor, data)


@records_api.get("/locations/<int:location_id>")
@endpoint(permission="core.locations.view", response=LocationSchema, tags=["stock"], errors=(404,))
def get_location(location_id: int) -> Any:
    """One location."""
    return stock.get_location(g.session, location_id)


# -------------------------------------------------------------------- stock

@records_api.get("/stock")
@endpoint(permission="core.stock.view", query=StockArgs, response=StockLevelSchema,
          paginated=True, tags=["stock"])
def list_stock(args: dict[str, Any]) -> Page:
    """On hand, reserved and available per product and location."""
    stmt = stock.stock_levels(g.session, product_id=args["product_id"],
                              location_id=args["location_id"])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@records_api.get("/stock/moves")
@endpoint(permission="core.stock.view", query=StockMoveListArgs, response=StockMoveSchema,
          paginated=True, tags=["stock"])
def list_moves(args: dict[str, Any]) -> Page:
    """The stock ledger, newest first."""
    M = stock.StockMove
    stmt = select(M).order_by(M.id.desc())
    if args["product_id"]:
        stmt = stmt.where(M.product_id == args["product_id"])
    if args["item_id"]:
        stmt = stmt.where(M.item_id == args["item_id"])
    if args["location_id"]:
        stmt = stmt.where((M.from_location_id == args["location_id"]) |
                          (M.to_location_id == args["location_id"]))
    return paginate(g.session, stmt, args["page"], args["per_page"])


@records_api.post("/stock/moves")
@endpoint(permission="core.stock.adjust", body=StockMoveCreateSchema,
          response=StockMovesCreatedSchema, status=201, tags=["stock"], errors=(409, 422))
def create_move(data: dict[str, Any]) -> Any:
    """An adjustment (only ``from`` or only ``to``) or a transfer (both), with a
    reason; serialized products move by serial. Audited."""
    moves = stock.move_stock(g.session, g.actor, **data)
    return {"moves": moves}


@records_api.get("/stock/reservations")
@endpoint(permission="core.stock.view", query=ReservationListArgs, response=ReservationSchema,
          paginated=True, tags=["stock"])
def list_reservations(args: dict[str, Any]) -> Page:
    """Reservations, newest first."""
    R = stock.Reservation
    stmt = select(R).order_by(R.id.desc())
    for key in ("product_id", "location_id", "reference_type", "reference_id", "status"):
        if args[key] is not None:
            stmt = stmt.where(getattr(R, key) == args[key])
    return paginate(g.session, stmt, args["page"], args["per_page"])


@records_api.post("/stock/reservations")
@endpoint(permission="core.stock.reserve", body=ReservationCreateSchema,
          response=ReservationSchema, status=201, tags=["stock"], errors=(409, 422))
def create_reservation(data: dict[str, Any]) -> Any:
    """Reserve available stock for a record (409 when not enough is available). Audited."""
    return stock.reserve_stock(g.session, g.actor, **data)


@records_api.post("/stock/reservations/<int:reservation_id>/release")
@endpoint(permission="core.stock.reserve", response=ReservationSchema, tags=["stock"],
          errors=(404, 409))
def release_reservation(reservation_id: int) -> Any:
    """Give the reserved stock back to available. Audited."""
    return stock.release_reservation(g.session, g.actor, reservation_id)


@records_api.post("/stock/reservations/<int:reservation_id>/consume")
@endpoint(permission="core.stock.reserve", body=ReservationConsumeSchema,
          response=ReservationSchema, tags=["stock"], errors=(404, 409, 422))
def consume_reservation(reservation_id: int, data: dict[str, Any]) -> Any:
    """The reserved stock leaves the location (a ledger row; units by serial). Audited."""
    return stock.consume_reservation(g.session, g.actor, reservation_id, **data)
