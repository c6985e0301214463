"""The catalog: products (goods, parts, services) with SKU, barcode, prices and stock
parameters.

``tax_rate`` is a **percentage** with up to three decimals: ``8.25`` means 8.25 %
(0–100). ``price`` and ``cost`` are Money (Decimal, two places). Barcodes, when
present, must be a UPC-A (12 digits), EAN-13 or EAN-8 with a correct GS1 check digit;
a UPC-A and the EAN-13 that is the same code with a leading zero are one product.
Price, cost and tax rate changes are audited with their before and after values.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Numeric, String, Text, bindparam,
                        or_, select)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import BigId, IdMixin, Model, TimestampMixin
from core.errors import Conflict, Invalid
from core.models import User
from core.records.common import apply_changes, get_or_404

PRODUCT_KINDS = ("goods", "part", "service")
BARCODE_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}


class Product(IdMixin, TimestampMixin, Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("kind IN ('goods', 'part', 'service')", name="kind"),
        CheckConstraint("price >= 0 AND cost >= 0", name="money_not_negative"),
        CheckConstraint("min_stock >= 0 AND reorder_qty >= 0", name="stock_params_not_negative"),
    )
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    barcode: Mapped[Optional[str]] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="goods")
    price: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    cost: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("0"))
    serialized: Mapped[bool] = mapped_column(Boolean, default=False)
    min_stock: Mapped[int] = mapped_column(default=0)
    reorder_qty: Mapped[int] = mapped_column(default=0)
    vendor_id: Mapped[Optional[int]] = mapped_column(
        BigId, ForeignKey("vendors.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# ------------------------------------------------------------------ barcodes

def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (the code without its last digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def barcode_problem(code: str) -> str | None:
    """Why ``code`` is not a valid UPC-A/EAN-13/EAN-8, or None when it is."""
    if not code.isdigit() or not code.isascii():
        return "A barcode has digits only (UPC-A, EAN-13 or EAN-8)."
    kind = BARCODE_LENGTHS.get(len(code))
    if kind is None:
        return (f"A barcode has 8 (EAN-8), 12 (UPC-A) or 13 (EAN-13) digits, not {len(code)}.")
    expected = gs1_check_digit(code[:-1])
    if int(code[-1]) != expected:
        return f"The {kind} check digit is wrong: expected {expected}, got {code[-1]}."
    return None


def normalize_barcode(raw: str | None) -> str | None:
    """Trimmed, inner spaces and hyphens dropped; validated (:class:`Invalid` if bad)."""
    if raw is None:
        return None
    code = raw.strip().replace(" ", "").replace("-", "")
    if not code:
        return None
    problem = barcode_problem(code)
    if problem:
        raise Invalid(problem, fields={"barcode": [problem]}, code="invalid_barcode")
    return code


def barcode_variants(code: str) -> list[str]:
    """The spellings of one GTIN: a UPC-A is also the EAN-13 with a leading zero."""
    if len(code) == 12:
        return [code, "0" + code]
    if len(code) == 13 and code.startswith("0"):
        return [code, code[1:]]
    return [code]


# ------------------------------------------------------------------ services

PRODUCT_FIELDS = ("sku", "barcode", "name", "description", "kind", "price", "cost",
                  "tax_rate", "serialized", "min_stock", "reorder_qty", "vendor_id", "active")
AUDITED_PRICES = ("price", "cost", "tax_rate")


def get_product(session: Session, product_id: int) -> Product:
    return get_or_404(session, Product, product_id, "product")


# Prebuilt (hot path: scan-to-line): one round trip, SKU or barcode; bound
# parameters, so the statements' cache keys are computed once.
_BY_SKU = select(Product).where(Product.sku == bindparam("code"))
_BY_SKU_OR_BARCODE = select(Product).where(or_(Product.sku == bindparam("code"),
                                               Product.barcode == bindparam("b1")))
_BY_SKU_OR_BARCODES = select(Product).where(or_(Product.sku == bindparam("code"),
                                                Product.barcode == bindparam("b1"),
                                                Product.barcode == bindparam("b2")))


def find_product_by_code(session: Session, code: str) -> Product | None:
    """The product whose SKU or barcode is exactly ``code`` (a SKU match wins)."""
    code = code.strip()
    if code.isdigit() and len(code) in BARCODE_LENGTHS:
        variants = barcode_variants(code)
        if len(variants) == 1:
            found = session.scalars(_BY_SKU_OR_BARCODE, {"code": code, "b1": variants[0]}).all()
        else:
            found = session.scalars(_BY_SKU_OR_BARCODES,
                                    {"code": code, "b1": variants[0], "b2": variants[1]}).all()
        return next((p for p in found if p.sku == code), found[0] if found else None)
    return session.scalars(_BY_SKU, {"code": code}).first()


def _check_unique(session: Session, product: Product | None, sku: str | None,
                  barcode: str | None) -> None:
    own_id = product.id if product is not None else None
    if sku is not None:
        other = session.scalar(select(Product.id).where(Product.sku == sku))
        if other is not None and other != own_id:
            raise Conflict(f"SKU {sku!r} is already product {other}.",
                           fields={"sku": ["Already used."]}, code="duplicate_sku")
    if barcode is not None:
        other = session.scalar(select(Product.id).where(Product.barcode.in_(barcode_variants(barcode))))
        if other is not None and other != own_id:
            raise Conflict(f"Barcode {barcode} is already product {other}.",
                           fields={"barcode": ["Already used."]}, code="duplicate_barcode")


def _check_vendor(session: Session, vendor_id: int | None) -> None:
    from core.records.parties import Vendor
    if vendor_id is not None and session.get(Vendor, vendor_id) is None:
        raise Invalid(f"No vendor {vendor_id}.", fields={"vendor_id": ["Unknown vendor."]})


def _check_kind(kind: str, serialized: bool) -> None:
    if kind == "service" and serialized:
        raise Invalid("A service cannot be serialized.",
                      fields={"serialized": ["Services have no units."]})


def create_product(session: Session, actor: User | None, data: dict[str, Any]) -> Product:
    values = {k: data[k] for k in PRODUCT_FIELDS if k in data}
    values["sku"] = values["sku"].strip()
    values["barcode"] = normalize_barcode(values.get("barcode"))
    _check_kind(values.get("kind", "goods"), values.get("serialized", False))
    _check_vendor(session, values.get("vendor_id"))
    _check_unique(session, None, values["sku"], values["barcode"])
    product = Product(**values)
    session.add(product)
    session.flush()
    audit.record(session, "product.created", actor=actor, record_type="product",
                 record_id=product.id,
                 after={"sku": product.sku, **{k: getattr(product, k) for k in AUDITED_PRICES}})
    return product


def update_product(session: Session, actor: User | None, product: Product,
                   data: dict[str, Any]) -> Product:
    """Change a product. Price, cost and tax-rate changes get their own audit entry
    (``product.price_changed``) with before and after values."""
    data = dict(data)
    if "sku" in data:
        data["sku"] = data["sku"].strip()
    if "barcode" in data:
        data["barcode"] = normalize_barcode(data["barcode"])
    _check_unique(session, product, data.get("sku"), data.get("barcode"))
    if "vendor_id" in data:
        _check_vendor(session, data["vendor_id"])
    _check_kind(data.get("kind", product.kind), data.get("serialized", product.serialized))
    if "serialized" in data and data["serialized"] != product.serialized:
        _refuse_serialized_flip(session, product)
    for key in ("price", "cost"):
        if key in data:
            data[key] = Decimal(data[key]).quantize(Decimal("0.01"))
    before, after = apply_changes(product, data, PRODUCT_FIELDS)
    session.flush()
    prices_before = {k: v for k, v in before.items() if k in AUDITED_PRICES}
    if prices_before:
        audit.record(session, "product.price_changed", actor=actor, record_type="product",
                     record_id=product.id, before=prices_before,
                     after={k: after[k] for k in prices_before})
    rest = [k for k in after if k not in AUDITED_PRICES]
    if rest:
        audit.record(session, "product.updated", actor=actor, record_type="product",
                     record_id=product.id, before={k: before[k] for k in rest},
                     after={k: after[k] for k in rest})
    return product


def _refuse_serialized_flip(session: Session, product: Product) -> None:
    """A product's units and its counted stock would disagree after the flip."""
    from core.records.items import Item
    from core.records.stock import StockMove
    if session.scalar(select(Item.id).where(Item.product_id == product.id).limit(1)) or \
            session.scalar(select(StockMove.id).where(StockMove.product_id == product.id).limit(1)):
        raise Conflict("The product already has units or stock moves; its serialized flag "
                       "cannot change.", fields={"serialized": ["Has stock history."]})
