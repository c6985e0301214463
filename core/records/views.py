"""The records' staff screens: customers, vendors, products, units (items) and stock.

Thin, like the API: parse the form through the API's own schemas, call one records
service, render. Lists and timelines call the API handlers' bodies (their query
logic lives there once). A refused form is shown again with the service's field
messages and its status (422, or 409 for a clash) — never half-written, because the
unit of work rolls back on any status >= 400.

The URLs are the ones ``core.records.search`` puts in search results
(``/customers/{id}``, ``/products/{id}``, ``/items/{id}``), so a scanned serial or
barcode in the search box lands here.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import select

from core.rest import handler_body
from core.auth import require
from core.errors import DomainError, Invalid
from core.records import api as json_api
from core.records import catalog, items, parties, stock
from core.records.catalog import PRODUCT_KINDS, Product
from core.records.items import ITEM_STATUSES, Item
from core.records.parties import CONTACT_CHANNELS, VENDOR_KINDS, Customer, Vendor
from core.records.schemas import (CustomerCreateSchema, CustomerListArgs, CustomerUpdateSchema,
                                  ItemCreateSchema, ItemListArgs, ItemUpdateSchema,
                                  LocationCreateSchema, ProductCreateSchema, ProductListArgs,
                                  ProductUpdateSchema, StockArgs, StockMoveCreateSchema,
                                  VendorCreateSchema, VendorListArgs, VendorUpdateSchema)
from core.records.stock import LOCATION_KINDS, Location
from core.web.forms import load

# "records" is the JSON API's blueprint (core.records.api); the screens are its web half.
records_web = Blueprint("records_web", __name__)

TIMELINE_ARGS = {"page": 1, "per_page": 200}


# ------------------------------------------------------------------ helpers

def _submitted(form: Mapping[str, Any]) -> dict[str, str]:
    """A form as a plain dict; the last value wins (a checkbox follows its hidden
    "false")."""
    return {k: form.getlist(k)[-1] for k in form} if hasattr(form, "getlist") else dict(form)


def _load_form(schema: type[Schema], form: Mapping[str, Any]) -> dict[str, Any]:
    """``form`` loaded by ``schema`` (the API's). Unlike a filter box, a blank input in
    a record's form means "empty": None where the field may be empty, "" for free
    text; otherwise (a number, a choice) it counts as not given."""
    s = schema(unknown=EXCLUDE)
    raw = _submitted(form)
    data: dict[str, Any] = {}
    for name, field in s.fields.items():
        key = field.data_key or name
        if key not in raw or field.dump_only:
            continue
        value: Any = raw[key]
        if value == "":
            if field.allow_none:
                value = None
            elif isinstance(field, fields.String) and not any(
                    isinstance(v, validate.OneOf) for v in getattr(field, "validators", ())):
                value = ""
            else:
                continue
        data[key] = value
    try:
        return s.load(data)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        raise Invalid("Some fields are not valid.",
                      fields=messages if isinstance(messages, dict) else {"_schema": messages}) from exc


def _field_messages(exc: DomainError) -> dict[str, list[str]]:
    """A domain error's field messages as {field: [text]} for the form macros (some
    errors carry numbers or nested lists in ``fields``)."""
    out: dict[str, list[str]] = {}

    def flatten(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, (list, tuple)):
            return [m for v in value for m in flatten(v)]
        if isinstance(value, dict):
            return [m for v in value.values() for m in flatten(v)]
        return []

    for name, value in (exc.fields or {}).items():
        messages = flatten(value)
        if messages:
            out[str(name)] = messages
    return out


def _refused(exc: DomainError, template: str, **context: Any) -> Any:
    """A service refused a form: undo what it wrote, say why, show the form again with
    what was typed and the field messages."""
    g.session.rollback()
    flash(exc.message, "error")
    context.setdefault("form", _submitted(request.form))
    return render_template(template, errors=_field_messages(exc), **context), exc.status


def _update(record_id: int, *, get: Callable[[Any, int], Any], service: Callable[..., Any],
            schema: type[Schema], template: str, context: Callable[[Any], dict[str, Any]],
            endpoint: str, key: str) -> Any:
    """An edit form's POST: the record's service with the loaded form, then back to the
    record — or the form again with the service's messages."""
    record = get(g.session, record_id)     # an unknown id is a 404, not a refused form
    try:
        service(g.session, g.actor, record, _load_form(schema, request.form))
    except DomainError as exc:
        return _refused(exc, template, **context(get(g.session, record_id)))
    flash("Saved.", "success")
    return redirect(url_for(endpoint, **{key: record_id}))


def _values(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: ("" if getattr(obj, n) is None else getattr(obj, n)) for n in names}


def _locations() -> list[Location]:
    return list(g.session.scalars(select(Location).order_by(Location.name)))


def _location_names() -> dict[int, str]:
    return dict(g.session.execute(select(Location.id, Location.name)).all())


def _names(model: Any, ids: set[Any], column: str = "name") -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    col = getattr(model, column)
    return dict(g.session.execute(select(model.id, col).where(model.id.in_(ids))).all())


def _product_by_code(code: str, field: str = "product") -> Product:
    """The product a typed or scanned SKU, barcode or id names."""
    code = (code or "").strip()
    product = catalog.find_product_by_code(g.session, code) if code else None
    if product is None and code.isdigit() and len(code) < 8:
        product = g.session.get(Product, int(code))
    if product is None:
        message = "Scan or type a SKU or barcode." if not code else f"No product {code!r}."
        raise Invalid(message, fields={field: [message]})
    return product


def _timeline(handler: Any, **path: Any) -> list[Any]:
    return list(handler_body(handler)(args=TIMELINE_ARGS, **path).items)


# ---------------------------------------------------------------- customers

CUSTOMER_FORM = ("name", "phone", "email", "address", "notes", "contact_channel",
                 "marketing_opt_out")


def _customer_form(customer: Customer | None, form: Mapping[str, Any],
                   errors: dict | None = None) -> str:
    return render_template("records/customer_form.html", customer=customer, form=form,
                           errors=errors or {}, channels=CONTACT_CHANNELS)


@records_web.get("/customers")
@require("core.customers.view")
def customers() -> Any:
    args = load(CustomerListArgs, request.args)
    page = handler_body(json_api.list_customers)(args=args)
    return render_template("records/customers.html", page=page, q=args["q"] or "")


@records_web.get("/customers/new")
@require("core.customers.edit")
def new_customer() -> Any:
    return _customer_form(None, {"name": request.args.get("name", "")[:200]})


@records_web.post("/customers/new")
@require("core.customers.edit")
def create_customer() -> Any:
    try:
        customer = parties.create_customer(g.session, g.actor,
                                           _load_form(CustomerCreateSchema, request.form))
    except DomainError as exc:
        return _refused(exc, "records/customer_form.html", customer=None, channels=CONTACT_CHANNELS)
    flash(f"Customer {customer.name} created.", "success")
    duplicates = parties.possible_duplicates(g.session, customer)
    if duplicates:
        flash("Possibly a duplicate of " + ", ".join(f"{c.name} (#{c.id})" for c in duplicates)
              + " — same phone or e-mail.", "warning")
    return redirect(url_for("records_web.customer", customer_id=customer.id))


def _customer_page(customer_id: int, errors: dict | None = None) -> str:
    c = parties.get_customer(g.session, customer_id)
    units = g.session.scalars(select(Item).where(Item.owner_id == c.id).order_by(Item.id.desc())
                              .limit(100)).all()
    return render_template(
        "records/customer.html", customer=c, units=units, locations=_location_names(),
        duplicates=parties.possible_duplicates(g.session, c) if c.merged_into_id is None else [],
        timeline=_timeline(json_api.customer_timeline, customer_id=c.id), errors=errors or {})


@records_web.get("/customers/<int:customer_id>")
@require("core.customers.view")
def customer(customer_id: int) -> Any:
    return _customer_page(customer_id)


@records_web.get("/customers/<int:customer_id>/edit")
@require("core.customers.edit")
def edit_customer(customer_id: int) -> Any:
    c = parties.get_customer(g.session, customer_id)
    return _customer_form(c, _values(c, CUSTOMER_FORM))


@records_web.post("/customers/<int:customer_id>/edit")
@require("core.customers.edit")
def update_customer(customer_id: int) -> Any:
    return _update(customer_id, get=parties.get_customer, service=parties.update_customer,
                   schema=CustomerUpdateSchema, template="records/customer_form.html",
                   context=lambda c: {"customer": c, "channels": CONTACT_CHANNELS},
                   endpoint="records_web.customer", key="customer_id")


@records_web.post("/customers/<int:customer_id>/merge")
@require("core.customers.merge")
def merge_customer(customer_id: int) -> Any:
    into = parties.get_customer(g.session, customer_id)
    try:
        raw = request.form.get("from_id", "").strip().lstrip("#")
        if not raw.isdigit():
            raise Invalid("Give the number of the customer to merge.",
                          fields={"from_id": ["A customer number."]})
        merged = parties.get_customer(g.session, int(raw))
        parties.merge_customers(g.session, g.actor, into, merged, hook=g.runtime.hook)
    except DomainError as exc:
        g.session.rollback()
        flash(exc.message, "error")
        return _customer_page(customer_id, _field_messages(exc)), exc.status
    flash(f"Customer #{merged.id} merged into this one.", "success")
    return redirect(url_for("records_web.customer", customer_id=customer_id))


# ------------------------------------------------------------------ vendors

VENDOR_FORM = ("name", "kind", "contact", "phone", "email", "account_number",
               "default_lead_time_days", "notes", "active")


def _vendor_form(vendor: Vendor | None, form: Mapping[str, Any]) -> str:
    return render_template("records/vendor_form.html", vendor=vendor, form=form, errors={},
                           kinds=VENDOR_KINDS)


@records_web.get("/vendors")
@require("core.vendors.view")
def vendors() -> Any:
    args = load(VendorListArgs, request.args)
    page = handler_body(json_api.list_vendors)(args=args)
    return render_template("records/vendors.html", page=page, q=args["q"] or "",
                           kind=args["kind"] or "", kinds=VENDOR_KINDS)


@records_web.get("/vendors/new")
@require("core.vendors.edit")
def new_vendor() -> Any:
    return _vendor_form(None, {"kind": "supplier", "active": True})


@records_web.post("/vendors/new")
@require("core.vendors.edit")
def create_vendor() -> Any:
    try:
        vendor = parties.create_vendor(g.session, g.actor, _load_form(VendorCreateSchema, request.form))
    except DomainError as exc:
        return _refused(exc, "records/vendor_form.html", vendor=None, kinds=VENDOR_KINDS)
    flash(f"Vendor {vendor.name} created.", "success")
    return redirect(url_for("records_web.vendor", vendor_id=vendor.id))


@records_web.get("/vendors/<int:vendor_id>")
@require("core.vendors.view")
def vendor(vendor_id: int) -> Any:
    v = parties.get_vendor(g.session, vendor_id)
    products = g.session.scalars(select(Product).where(Product.vendor_id == v.id)
                                 .order_by(Product.name).limit(200)).all()
    return render_template("records/vendor.html", vendor=v, products=products)


@records_web.get("/vendors/<int:vendor_id>/edit")
@require("core.vendors.edit")
def edit_vendor(vendor_id: int) -> Any:
    v = parties.get_vendor(g.session, vendor_id)
    return _vendor_form(v, _values(v, VENDOR_FORM))


@records_web.post("/vendors/<int:vendor_id>/edit")
@require("core.vendors.edit")
def update_vendor(vendor_id: int) -> Any:
    return _update(vendor_id, get=parties.get_vendor, service=parties.update_vendor,
                   schema=VendorUpdateSchema, template="records/vendor_form.html",
                   context=lambda v: {"vendor": v, "kinds": VENDOR_KINDS},
                   endpoint="records_web.vendor", key="vendor_id")


# ----------------------------------------------------------------- products

PRODUCT_FORM = ("sku", "barcode", "name", "description", "kind", "price", "cost", "tax_rate",
                "serialized", "min_stock", "reorder_qty", "vendor_id", "active")


def _vendor_choices() -> list[tuple[int, str]]:
    return list(g.session.execute(select(Vendor.id, Vendor.name).order_by(Vendor.name)).all())


def _product_form_context(product: Product | None) -> dict[str, Any]:
    return {"product": product, "kinds": PRODUCT_KINDS, "vendors": _vendor_choices()}


@records_web.get("/products")
@require("core.products.view")
def products() -> Any:
    args = load(ProductListArgs, request.args)
    page = handler_body(json_api.list_products)(args=args)
    return render_template("records/products.html", page=page, q=args["q"] or "",
                           kind=args["kind"] or "", kinds=PRODUCT_KINDS,
                           vendors=_names(Vendor, {p.vendor_id for p in page.items}))


@records_web.get("/products/new")
@require("core.products.edit")
def new_product() -> Any:
    return render_template("records/product_form.html", form={"kind": "goods", "active": True,
                                                              "tax_rate": "0", "cost": "0.00"},
                           errors={}, **_product_form_context(None))


@records_web.post("/products/new")
@require("core.products.edit")
def create_product() -> Any:
    try:
        product = catalog.create_product(g.session, g.actor,
                                         _load_form(ProductCreateSchema, request.form))
    except DomainError as exc:
        return _refused(exc, "records/product_form.html", **_product_form_context(None))
    flash(f"Product {product.sku} created.", "success")
    return redirect(url_for("records_web.product", product_id=product.id))


@records_web.get("/products/<int:product_id>")
@require("core.products.view")
def product(product_id: int) -> Any:
    p = catalog.get_product(g.session, product_id)
    levels = handler_body(json_api.list_stock)(args={"product_id": p.id, "location_id": None,
                                                  "page": 1, "per_page": 200}).items
    moves = handler_body(json_api.list_moves)(args={"product_id": p.id, "item_id": None,
                                                 "location_id": None, "page": 1,
                                                 "per_page": 25}).items
    units = g.session.scalars(select(Item).where(Item.product_id == p.id)
                              .order_by(Item.id.desc()).limit(50)).all() if p.serialized else []
    vendor = g.session.get(Vendor, p.vendor_id) if p.vendor_id else None
    return render_template("records/product.html", product=p, levels=levels, moves=moves,
                           units=units, vendor=vendor, locations=_location_names())


@records_web.get("/products/<int:product_id>/edit")
@require("core.products.edit")
def edit_product(product_id: int) -> Any:
    p = catalog.get_product(g.session, product_id)
    return render_template("records/product_form.html", form=_values(p, PRODUCT_FORM), errors={},
                           **_product_form_context(p))


@records_web.post("/products/<int:product_id>/edit")
@require("core.products.edit")
def update_product(product_id: int) -> Any:
    return _update(product_id, get=catalog.get_product, service=catalog.update_product,
                   schema=ProductUpdateSchema, template="records/product_form.html",
                   context=_product_form_context, endpoint="records_web.product",
                   key="product_id")


# -------------------------------------------------------------------- units

ITEM_FORM = ("status", "owner_id", "location_id", "notes")


def _item_form_context(item: Item | None) -> dict[str, Any]:
    return {"item": item, "statuses": ITEM_STATUSES, "locations": _locations()}


@records_web.get("/items")
@require("core.items.view")
def units() -> Any:
    args = load(ItemListArgs, request.args)
    page = handler_body(json_api.list_items)(args=args)
    filters = {k: v for k, v in args.items() if k not in ("page", "per_page") and v is not None}
    return render_template("records/items.html", page=page, args=args, filters=filters,
                           statuses=ITEM_STATUSES, locations=_locations(),
                           owners=_names(Customer, {i.owner_id for i in page.items}))


@records_web.get("/items/new")
@require("core.items.edit")
def new_item() -> Any:
    form = {k: request.args.get(k, "") for k in ("product", "owner_id", "location_id", "status")}
    form["status"] = form["status"] or ("customer_owned" if form["owner_id"] else "in_stock")
    return render_template("records/item_form.html", form=form, errors={},
                           **_item_form_context(None))


@records_web.post("/items/new")
@require("core.items.edit")
def create_item() -> Any:
    try:
        product_ = _product_by_code(request.form.get("product", ""))
        form = request.form.copy()
        form["product_id"] = str(product_.id)
        item = items.create_item(g.session, g.actor, _load_form(ItemCreateSchema, form))
    except DomainError as exc:
        return _refused(exc, "records/item_form.html", **_item_form_context(None))
    flash(f"Unit {item.serial} of {item.product.name} recorded.", "success")
    return redirect(url_for("records_web.item", item_id=item.id))


@records_web.get("/items/<int:item_id>")
@require("core.items.view")
def item(item_id: int) -> Any:
    i = items.get_item(g.session, item_id)
    owner = g.session.get(Customer, i.owner_id) if i.owner_id else None
    location = g.session.get(Location, i.location_id) if i.location_id else None
    return render_template("records/item.html", item=i, owner=owner, location=location,
                           history=_timeline(json_api.item_history, item_id=i.id))


@records_web.get("/items/<int:item_id>/edit")
@require("core.items.edit")
def edit_item(item_id: int) -> Any:
    i = items.get_item(g.session, item_id)
    return render_template("records/item_form.html", form=_values(i, ITEM_FORM), errors={},
                           **_item_form_context(i))


@records_web.post("/items/<int:item_id>/edit")
@require("core.items.edit")
def update_item(item_id: int) -> Any:
    return _update(item_id, get=items.get_item, service=items.update_item,
                   schema=ItemUpdateSchema, template="records/item_form.html",
                   context=_item_form_context, endpoint="records_web.item", key="item_id")


# -------------------------------------------------------------------- stock

def _split_serials(raw: str) -> list[str]:
    """One serial per line (a scanner ends each with Enter) or comma-separated."""
    return [s.strip() for line in raw.splitlines() for s in line.split(",") if s.strip()]


def _stock_page(form: Mapping[str, Any] | None = None, errors: dict | None = None,
                status: int = 200) -> Any:
    args = load(StockArgs, request.args)
    page = handler_body(json_api.list_stock)(args=args)
    moves = handler_body(json_api.list_moves)(args={
        "product_id": args["product_id"], "location_id": args["location_id"], "item_id": None,
        "page": 1, "per_page": 20}).items
    product_ids = {lv.product_id for lv in page.items} | {m.product_id for m in moves}
    products_ = {p.id: p for p in g.session.scalars(select(Product).where(Product.id.in_(product_ids)))} \
        if product_ids else {}
    chosen = g.session.get(Product, args["product_id"]) if args["product_id"] else None
    body = render_template(
        "records/stock.html", page=page, args=args, moves=moves, products=products_,
        chosen=chosen, locations=_locations(), location_names=_location_names(),
        location_kinds=LOCATION_KINDS, form=form or {"product": chosen.sku if chosen else ""},
        errors=errors or {})
    return body, status


@records_web.get("/stock")
@require("core.stock.view")
def stock_levels() -> Any:
    return _stock_page()


@records_web.post("/stock/moves")
@require("core.stock.adjust")
def move_stock() -> Any:
    form = _submitted(request.form)
    try:
        product_ = _product_by_code(form.get("product", ""))
        serials = _split_serials(form.get("serials", ""))
        raw = {k: form.get(k, "") for k in ("from_location_id", "to_location_id", "reason",
                                             "reference")}
        raw["product_id"] = str(product_.id)
        raw["quantity"] = form.get("quantity", "").strip() or (str(len(serials)) if serials else "")
        data = _load_form(StockMoveCreateSchema, raw)
        data["serials"] = serials
        moves = stock.move_stock(g.session, g.actor, **data)
    except DomainError as exc:
        g.session.rollback()
        flash(exc.message, "error")
        return _stock_page(form, _field_messages(exc), exc.status)
    flash(f"Stock moved: {sum(m.quantity for m in moves)} × {product_.name}.", "success")
    return redirect(url_for("records_web.stock_levels", product_id=product_.id))


@records_web.post("/locations")
@require("core.locations.edit")
def create_location() -> Any:
    try:
        loc = stock.create_location(g.session, g.actor, _load_form(LocationCreateSchema, request.form))
    except DomainError as exc:
        g.session.rollback()
        flash(exc.message, "error")
        return _stock_page({"product": ""}, {"location_" + k: v
                                             for k, v in _field_messages(exc).items()}, exc.status)
    flash(f"Location {loc.name} created.", "success")
    return redirect(url_for("records_web.stock_levels", location_id=loc.id))
