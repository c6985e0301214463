"""Indexed search over customers, products and units — the same code serves the
unified search box (the ``search`` hook), ``GET /customers?q=`` and ``GET /products?q=``.

Nothing here scans a big table: every branch is an index look-up.

==================  =====================================  ====================================
what                SQLite                                 PostgreSQL
==================  =====================================  ====================================
name / e-mail /     FTS5 external-content table            GIN index on ``to_tsvector('simple',
description words   ``customers_fts(name, email)``,        name || ' ' || email)`` (products:
(by prefix)         ``products_fts(sku, name,              sku, name, description); query
                    description)``, unicode61 without      ``to_tsquery('w1:* & w2:*')``
                    diacritics, prefix indexes 1 to 6,
                    ``detail=column`` (migration 0004);
                    query ``"w1"* "w2"*``
phone fragment      FTS5 trigram table                     pg_trgm GIN index on
(3+ digits)         ``customers_phone_fts(phone_digits)``  ``phone_digits`` (``LIKE '%…%'``)
phone, 10+ digits   B-tree ``phone_digits =`` (normalised to the last ten digits)
phone, 1–2 digits   B-tree range on ``phone_digits`` (a prefix)
e-mail              B-tree ``email =`` (stored lower-case)
SKU / barcode       unique B-tree indexes, exact (a UPC-A also finds its EAN-13 spelling)
serial              B-tree on ``items.serial_norm``, exact after normalising
==================  =====================================  ====================================

The FTS5 tables are kept in sync by triggers and the PostgreSQL indexes are created
by the ``0002_records`` migration; their names start with ``ix_search_`` and the FTS
tables are not models, so ``core.migrate.schema_diff`` leaves them out. Words are the
query's ``\\w+`` runs, all of which must match (AND), each as a prefix. While typing,
results are unranked (a short prefix over a million names would otherwise sort
thousands of rows); exact identifiers are marked ``exact`` and rank first.
Diacritics are folded on SQLite only (``simple`` does not unaccent).
"""
from __future__ import annotations

import re
from typing import Any, Callable

from sqlalchemy import Select, bindparam, column, or_, select, table, text
from sqlalchemy.orm import Session

from core.records.catalog import BARCODE_LENGTHS, Product, barcode_variants
from core.records.common import dialect_of
from core.records.items import Item, normalize_serial
from core.records.parties import Customer, phone_digits
from core.types import SearchResult

Branch = Callable[[Select], Select]

CUSTOMER_TSV = "to_tsvector('simple'::regconfig, coalesce(name, '') || ' ' || coalesce(email, ''))"
PRODUCT_TSV = ("to_tsvector('simple'::regconfig, coalesce(sku, '') || ' ' || coalesce(name, '') "
               "|| ' ' || coalesce(description, ''))")

_customers_fts = table("customers_fts", column("rowid"))
_customers_phone_fts = table("customers_phone_fts", column("rowid"))
_products_fts = table("products_fts", column("rowid"))

_WORDS = re.compile(r"\w+")
_PHONEISH = re.compile(r"^\+?[\d\s().\-/]+$")
MAX_WORDS = 8


def query_words(q: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(q)][:MAX_WORDS]


_FTS_TOKEN = re.compile(r"[^\W_]+")   # a \w run as unicode61 splits it (``_`` separates)


def _fts5_match(words: list[str]) -> str:
    """Each word as a one-token prefix query, AND-ed. The FTS tables have
    ``detail=column`` (migration 0004), where a multi-token phrase is an error, so a
    word unicode61 would split (``foo_bar``) is sent as its tokens."""
    tokens = [t for w in words for t in _FTS_TOKEN.findall(w)][:MAX_WORDS]
    return " ".join(f'"{t}"*' for t in tokens) if tokens else '""'


def _tsquery(words: list[str]) -> str:
    return " & ".join(f"'{w}':*" for w in words)


def _words_branch(session: Session, words: list[str], model: Any, fts: Any, tsv: str) -> Branch:
    if dialect_of(session) == "sqlite":
        cond = text(f"{fts.name} MATCH :m").bindparams(m=_fts5_match(words))
        return lambda s: s.join(fts, fts.c.rowid == model.id).where(cond)
    cond = text(f"{tsv} @@ to_tsquery('simple'::regconfig, :tsq)").bindparams(tsq=_tsquery(words))
    return lambda s: s.where(cond)


def _digits_upper_bound(prefix: str) -> str | None:
    """The smallest digit string greater than every string starting with ``prefix``."""
    stripped = prefix.rstrip("9")
    if not stripped:
        return None
    return stripped[:-1] + str(int(stripped[-1]) + 1)


def _phone_branch(session: Session, digits: str) -> Branch:
    if len(digits) >= 10:
        key = phone_digits(digits)
        return lambda s: s.where(Customer.phone_digits == key)
    if len(digits) >= 3:
        if dialect_of(session) == "sqlite":
            cond = text("customers_phone_fts MATCH :p").bindparams(p=f'"{digits}"')
            return lambda s: s.join(_customers_phone_fts,
                                    _customers_phone_fts.c.rowid == Customer.id).where(cond)
        return lambda s: s.where(Customer.phone_digits.like(f"%{digits}%"))
    upper = _digits_upper_bound(digits)
    if upper is None:
        return lambda s: s.where(Customer.phone_digits >= digits)
    return lambda s: s.where(Customer.phone_digits >= digits, Customer.phone_digits < upper)


def customer_branches(session: Session, q: str) -> list[Branch]:
    """The index look-ups that together answer ``q`` (their union is the result)."""
    q = q.strip()
    digits = re.sub(r"\D", "", q)
    if digits and _PHONEISH.match(q):
        return [_phone_branch(session, digits)]
    branches: list[Branch] = []
    if "@" in q:
        email = q.lower()
        branches.append(lambda s: s.where(Customer.email == email))
    words = query_words(q)
    if words:
        branches.append(_words_branch(session, words, Customer, _customers_fts, CUSTOMER_TSV))
    return branches


def product_branches(session: Session, q: str) -> list[tuple[Branch, bool]]:
    """``(branch, exact)`` pairs: SKU and barcode are exact, words are not."""
    q = q.strip()
    out: list[tuple[Branch, bool]] = [(lambda s: s.where(Product.sku == q), True)]
    compact = q.replace(" ", "").replace("-", "")
    if compact.isdigit() and len(compact) in BARCODE_LENGTHS:
        variants = barcode_variants(compact)
        out.append((lambda s: s.where(Product.barcode.in_(variants)), True))
    words = query_words(q)
    if words:
        out.append((_words_branch(session, words, Product, _products_fts, PRODUCT_TSV), False))
    return out


def _union_filter(model: Any, branches: list[Branch]) -> Any:
    return or_(*(model.id.in_(b(select(model.id)).correlate(None)) for b in branches))


def customer_list_stmt(session: Session, q: str | None, *, include_merged: bool = False) -> Select:
    """``GET /customers``: a select of customers, searched when ``q`` is given."""
    stmt = select(Customer)
    if not include_merged:
        stmt = stmt.where(Customer.merged_into_id.is_(None))
    if q and q.strip():
        branches = customer_branches(session, q)
        if not branches:
            return stmt.where(Customer.id.is_(None))
        stmt = stmt.where(_union_filter(Customer, branches))
        return stmt.order_by(Customer.id.desc())
    return stmt.order_by(Customer.name, Customer.id)


def product_list_stmt(session: Session, q: str | None) -> Select:
    stmt = select(Product)
    if q and q.strip():
        stmt = stmt.where(_union_filter(Product, [b for b, _ in product_branches(session, q)]))
        return stmt.order_by(Product.id.desc())
    return stmt.order_by(Product.name, Product.id)


# ---------------------------------------------------------- hot path (typing)

# Prebuilt statements for the typing hot path (SQLite): bound parameters, built once
# per (shape, limit), so neither select() construction nor the cache key is paid per
# keystroke. PostgreSQL keeps the per-call branches above.
_prebuilt: dict[tuple[str, int], Select] = {}


def _customer_stmt(kind: str, limit: int) -> Select:
    stmt = _prebuilt.get((kind, limit))
    if stmt is None:
        base = select(Customer)
        if kind == "words":
            base = base.join(_customers_fts, _customers_fts.c.rowid == Customer.id).where(
                text("customers_fts MATCH :m"))
        elif kind == "phone_fts":
            base = base.join(_customers_phone_fts, _customers_phone_fts.c.rowid == Customer.id
                             ).where(text("customers_phone_fts MATCH :m"))
        elif kind == "phone_key":
            base = base.where(Customer.phone_digits == bindparam("m"))
        elif kind == "phone_from":
            base = base.where(Customer.phone_digits >= bindparam("m"))
        elif kind == "phone_range":
            base = base.where(Customer.phone_digits >= bindparam("m"),
                              Customer.phone_digits < bindparam("upper"))
        elif kind == "email":
            base = base.where(Customer.email == bindparam("m"))
        stmt = _prebuilt[(kind, limit)] = base.where(Customer.merged_into_id.is_(None)).limit(limit)
    return stmt


_FULL_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _sqlite_customer_lookups(q: str) -> list[tuple[str, dict[str, str]]]:
    """The same look-ups as :func:`customer_branches`, as (prebuilt shape, parameters)."""
    q = q.strip()
    digits = re.sub(r"\D", "", q)
    if digits and _PHONEISH.match(q):
        if len(digits) >= 10:
            return [("phone_key", {"m": phone_digits(digits)})]
        if len(digits) >= 3:
            return [("phone_fts", {"m": f'"{digits}"'})]
        upper = _digits_upper_bound(digits)
        if upper is None:
            return [("phone_from", {"m": digits})]
        return [("phone_range", {"m": digits, "upper": upper})]
    out: list[tuple[str, dict[str, str]]] = []
    if "@" in q:
        out.append(("email", {"m": q.lower()}))
    words = query_words(q)
    if words:
        out.append(("words", {"m": _fts5_match(words)}))
    return out


def search_customers(session: Session, q: str, limit: int = 20) -> list[Customer]:
    """Up to ``limit`` active customers matching ``q``, unranked: each branch is one
    index look-up that stops at ``limit`` rows."""
    found: dict[int, Customer] = {}
    if dialect_of(session) == "sqlite":
        for kind, params in _sqlite_customer_lookups(q):
            if kind == "words" and found and _FULL_EMAIL.match(q.strip()):
                # a whole e-mail address that found its owner(s) by the address: its
                # words (``outlook``, ``com``: huge prefix doclists) add nothing useful
                break
            for c in session.scalars(_customer_stmt(kind, limit), params):
                found.setdefault(c.id, c)
            if len(found) >= limit:
                break
        return list(found.values())[:limit]
    for branch in customer_branches(session, q):
        stmt = branch(select(Customer)).where(Customer.merged_into_id.is_(None)).limit(limit)
        for c in session.scalars(stmt):
            found.setdefault(c.id, c)
        if len(found) >= limit:
            break
    return list(found.values())[:limit]


_PRODUCT_BY_SKU = select(Product).where(Product.sku == bindparam("sku"))
_PRODUCT_BY_SKU_OR_BARCODES = select(Product).where(
    or_(Product.sku == bindparam("sku"), Product.barcode.in_(bindparam("barcodes", expanding=True))))
_product_words: dict[int, Select] = {}


def _product_words_stmt(limit: int) -> Select:
    stmt = _product_words.get(limit)
    if stmt is None:
        stmt = _product_words[limit] = (
            select(Product).join(_products_fts, _products_fts.c.rowid == Product.id)
            .where(text("products_fts MATCH :m")).limit(limit))
    return stmt


def search_products(session: Session, q: str, limit: int = 20) -> list[tuple[Product, bool]]:
    """``(product, exact)`` for up to ``limit`` products, exact identifier hits first.
    The SKU and barcode look-ups are one statement (SKU or any barcode spelling)."""
    found: dict[int, tuple[Product, bool]] = {}
    if dialect_of(session) != "sqlite":
        for branch, exact in product_branches(session, q):
            for p in session.scalars(branch(select(Product)).limit(limit)):
                found.setdefault(p.id, (p, exact))
            if len(found) >= limit:
                break
        return list(found.values())[:limit]
    q = q.strip()
    compact = q.replace(" ", "").replace("-", "")
    if compact.isdigit() and len(compact) in BARCODE_LENGTHS:
        exact_hits = session.scalars(_PRODUCT_BY_SKU_OR_BARCODES,
                                     {"sku": q, "barcodes": barcode_variants(compact)}).all()
    else:
        exact_hits = session.scalars(_PRODUCT_BY_SKU, {"sku": q}).all()
    # the SKU match first, as when the SKU and barcode were separate look-ups
    for p in sorted(exact_hits, key=lambda p: p.sku != q)[:limit]:
        found.setdefault(p.id, (p, True))
    words = query_words(q)
    if words and len(found) < limit:
        for p in session.scalars(_product_words_stmt(limit), {"m": _fts5_match(words)}):
            found.setdefault(p.id, (p, False))
    return list(found.values())[:limit]


_ITEMS_BY_SERIAL: dict[int, Select] = {}


def search_items(session: Session, q: str, limit: int = 20) -> list[Item]:
    """Units whose serial is exactly ``q`` (normalised)."""
    norm = normalize_serial(q)
    if not norm:
        return []
    stmt = _ITEMS_BY_SERIAL.get(limit)
    if stmt is None:
        stmt = _ITEMS_BY_SERIAL[limit] = (select(Item).where(Item.serial_norm == bindparam("norm"))
                                          .limit(limit))
    return list(session.scalars(stmt, {"norm": norm}))


def search_records(session: Session, query: str, actor: Any, limit: int,
                   permissions: set[str]) -> list[SearchResult]:
    """The kernel records' contribution to the unified search, for what ``actor`` may see."""
    results: list[SearchResult] = []
    if "core.items.view" in permissions:
        for item in search_items(session, query, limit):
            results.append(SearchResult(
                type="item", id=item.id, title=f"{item.product.name} · {item.serial}",
                subtitle=f"unit · {item.status.replace('_', ' ')} · {item.product.sku}",
                url=f"/items/{item.id}", exact=True, score=3.0))
    if "core.products.view" in permissions:
        for product, exact in search_products(session, query, limit):
            results.append(SearchResult(
                type="product", id=product.id, title=product.name,
                subtitle=f"product · {product.sku} · {product.price}",
                url=f"/products/{product.id}", exact=exact, score=2.0 if exact else 0.5))
    if "core.customers.view" in permissions:
        for c in search_customers(session, query, limit):
            results.append(SearchResult(
                type="customer", id=c.id, title=c.name,
                subtitle=" · ".join(x for x in ("customer", c.phone, c.email) if x),
                url=f"/customers/{c.id}", score=1.0))
    return results
