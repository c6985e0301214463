"""Indexed search over customers, products and units — the same look-ups serve the
unified search box (the ``search`` hook), ``GET /customers?q=`` and ``GET /products?q=``.

Nothing here scans a big table: every look-up is an index look-up.

==================  =====================================  ====================================
what                SQLite                                 PostgreSQL
==================  =====================================  ====================================
name / e-mail /     FTS5 external-content table            GIN index on ``to_tsvector('simple',
description words   ``customers_fts(name, email)``,        name || ' ' || email)`` (products:
(by prefix)         ``products_fts(sku, name,              sku, name, description); query
                    description)``, unicode61 without      ``to_tsquery('w1:* & w2:*')``
                    diacritics, prefix indexes 1 to 14,
                    ``detail=none`` (migration 0005);
                    query ``"w1"* "w2"*``
phone fragment      ``customers_phone_suffixes``: every    pg_trgm GIN index on
(3–9 digits)        suffix of ``phone_digits`` (3+         ``phone_digits`` (``LIKE '%…%'``)
                    digits), a B-tree range on the
                    fragment as a prefix (migration 0005)
phone, 10+ digits   B-tree ``phone_digits =`` (normalised to the last ten digits)
phone, 1–2 digits   B-tree range on ``phone_digits`` (a prefix)
e-mail              B-tree ``email =`` (stored lower-case)
SKU / barcode       unique B-tree indexes, exact (a UPC-A also finds its EAN-13 spelling)
serial              B-tree on ``items.serial_norm``, exact after normalising
==================  =====================================  ====================================

The FTS5 tables and the suffix table are kept in sync by triggers on ``customers``
and ``products`` and the PostgreSQL indexes are created by the ``0002_records``
migration; the index names start with ``ix_search_`` and the SQLite tables are not
models, so ``core.migrate.schema_diff`` leaves them out. Words are the query's ``\\w+``
runs, all of which must match (AND), each as a prefix. While typing, results are
unranked (a short prefix over a million names would otherwise sort thousands of
rows); exact identifiers are marked ``exact`` and rank first. Diacritics are folded on
SQLite only (``simple`` does not unaccent).

A query is parsed into *look-ups*, ``(shape, parameters)``; each shape has one
statement per dialect, built once with bound parameters, so a keystroke costs neither
``select()`` construction nor a cache-key computation. The search box gets plain rows
(:class:`CustomerHit`, :class:`ProductHit`, :class:`~core.records.items.ItemRef`):
loading ORM objects cost more than the index look-ups themselves. The API lists get
the same filters on ORM selects (their schemas dump models).
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, NamedTuple, Optional, Sequence

from sqlalchemy import Integer, Select, String, bindparam, column, or_, select, table, text
from sqlalchemy.orm import Session

from core.records.catalog import BARCODE_LENGTHS, Product, barcode_variants
from core.records.common import dialect_of
from core.records.items import ItemRef, items_by_serial
from core.records.parties import PHONE_KEY_LENGTH, Customer, phone_digits
from core.types import SearchResult

CUSTOMER_TSV = "to_tsvector('simple'::regconfig, coalesce(name, '') || ' ' || coalesce(email, ''))"
PRODUCT_TSV = ("to_tsvector('simple'::regconfig, coalesce(sku, '') || ' ' || coalesce(name, '') "
               "|| ' ' || coalesce(description, ''))")

_WORDS = re.compile(r"\w+")
_NON_DIGITS = re.compile(r"\D")
_PHONEISH = re.compile(r"^\+?[\d\s().\-/]+$")
_FULL_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_WORDS = 8
MIN_PHONE_FRAGMENT = 3   # shorter digit strings match phone numbers by their start

PHONE_SUFFIXES = "customers_phone_suffixes"
# ``customers_phone_suffixes`` from scratch, in key order (appending to the B-tree rather
# than inserting at random): for a bulk load with its triggers suspended. Migration
# 0005 created the table, its triggers and the same fill (a migration keeps its own copy).
PHONE_SUFFIXES_FILL = (
    f"INSERT INTO {PHONE_SUFFIXES}(suffix, customer_id) "
    "SELECT substr(c.phone_digits, p.n), c.id FROM customers AS c JOIN ("
    + " UNION ALL ".join(f"SELECT {n}" + (" AS n" if n == 1 else "") for n in range(1, 19))
    + f") AS p ON p.n <= length(c.phone_digits) - {MIN_PHONE_FRAGMENT - 1} "
    "WHERE c.phone_digits IS NOT NULL ORDER BY 1, 2")

_customers_fts = table("customers_fts", column("rowid", Integer))
_products_fts = table("products_fts", column("rowid", Integer))
_phone_suffixes = table(PHONE_SUFFIXES, column("suffix", String), column("customer_id", Integer))
_SUFFIX_RANGE = (_phone_suffixes.c.suffix >= bindparam("lo")) & \
    (_phone_suffixes.c.suffix < bindparam("hi"))   # the suffixes starting with a fragment
_LIMIT = bindparam("limit", type_=Integer)
# Active customers, tested on the rows a search index found: ``merged_into_id`` has an
# index that must never drive a search. Without ANALYZE statistics SQLite takes
# ``merged_into_id IS NULL`` for a selective equality and walks every active customer
# (270 ms for a two-digit phone prefix over a million); ``+ 0`` is not indexable.
_ACTIVE = (Customer.merged_into_id + 0).is_(None)

Lookup = tuple[str, dict[str, Any]]   # (shape, bound parameters)


class CustomerHit(NamedTuple):
    id: int
    name: str
    phone: Optional[str]
    email: Optional[str]


class ProductHit(NamedTuple):
    id: int
    sku: str
    barcode: Optional[str]
    name: str
    price: Decimal


_CUSTOMER_HIT = (Customer.id, Customer.name, Customer.phone, Customer.email)
_PRODUCT_HIT = (Product.id, Product.sku, Product.barcode, Product.name, Product.price)


# ------------------------------------------------------------------ parsing

def query_words(q: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(q)][:MAX_WORDS]


_FTS_TOKEN = re.compile(r"[^\W_]+")   # a \w run as unicode61 splits it (``_`` separates)


def fts5_prefix_match(words: Sequence[str]) -> str:
    """An FTS5 MATCH string: each word as a one-token prefix query, AND-ed (at most
    ``MAX_WORDS`` tokens). Tables with ``detail=none`` (the kernel's since migration
    0005, repairs' since rp0003) refuse multi-token phrases, so a word unicode61 would
    split (``foo_bar``) is sent as its tokens."""
    tokens = [t for w in words for t in _FTS_TOKEN.findall(w)][:MAX_WORDS]
    return " ".join(f'"{t}"*' for t in tokens) if tokens else '""'


def _tsquery(words: list[str]) -> str:
    return " & ".join(f"'{w}':*" for w in words)


def _words_params(dialect: str, words: list[str]) -> dict[str, str]:
    return {"m": fts5_prefix_match(words)} if dialect == "sqlite" else {"tsq": _tsquery(words)}


def _prefix_end(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def customer_lookups(dialect: str, q: str) -> list[Lookup]:
    """The index look-ups whose union answers ``q``: a phone number, fragment or
    prefix when ``q`` looks like one; else an e-mail address (when it has ``@``) and
    the words."""
    q = q.strip()
    digits = _NON_DIGITS.sub("", q)
    if digits and _PHONEISH.match(q):
        if len(digits) >= PHONE_KEY_LENGTH:
            return [("phone_key", {"key": phone_digits(digits)})]
        if len(digits) >= MIN_PHONE_FRAGMENT:
            if dialect == "sqlite":
                return [("phone_suffix", {"lo": digits, "hi": _prefix_end(digits)})]
            return [("phone_fragment", {"pattern": f"%{digits}%"})]
        return [("phone_prefix", {"lo": digits, "hi": _prefix_end(digits)})]
    out: list[Lookup] = []
    if "@" in q:
        out.append(("email", {"email": q.lower()}))
    words = query_words(q)
    if words:
        out.append(("words", _words_params(dialect, words)))
    return out


def product_lookups(dialect: str, q: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(exact, words)`` parameters: the SKU and (when ``q`` is 8, 12 or 13 digits)
    the barcode's spellings for the exact look-up, and the words (None without any)."""
    q = q.strip()
    compact = q.replace(" ", "").replace("-", "")
    barcodes: list[str | None] = [None, None]
    if compact.isdigit() and len(compact) in BARCODE_LENGTHS:
        variants = barcode_variants(compact)
        barcodes = [variants[0], variants[-1]]
    words = query_words(q)
    return ({"sku": q, "b1": barcodes[0], "b2": barcodes[1]},
            _words_params(dialect, words) if words else None)


# --------------------------------------------------------------- statements

def _match(target: str, param: str) -> Any:
    """``target MATCH :m`` (an FTS5 table) or ``target @@ to_tsquery(:tsq)`` (a tsvector)."""
    sql = (f"{target} MATCH :m" if param == "m"
           else f"{target} @@ to_tsquery('simple'::regconfig, :tsq)")
    return text(sql).bindparams(bindparam(param, type_=String))


def _customer_filter(dialect: str, shape: str, stmt: Select) -> Select:
    """``stmt`` (selecting from ``customers``) narrowed to the look-up ``shape``."""
    if shape == "words":
        if dialect == "sqlite":
            return (stmt.join(_customers_fts, _customers_fts.c.rowid == Customer.id)
                    .where(_match("customers_fts", "m")))
        return stmt.where(_match(CUSTOMER_TSV, "tsq"))
    if shape == "phone_suffix":   # SQLite
        return stmt.where(Customer.id.in_(
            select(_phone_suffixes.c.customer_id).where(_SUFFIX_RANGE)))
    if shape == "phone_fragment":   # PostgreSQL
        return stmt.where(Customer.phone_digits.like(bindparam("pattern")))
    if shape == "phone_key":
        return stmt.where(Customer.phone_digits == bindparam("key"))
    if shape == "phone_prefix":
        return stmt.where(Customer.phone_digits >= bindparam("lo"),
                          Customer.phone_digits < bindparam("hi"))
    if shape == "email":
        return stmt.where(Customer.email == bindparam("email"))
    raise ValueError(f"unknown customer look-up {shape!r}")


def _customer_hits_stmt(dialect: str, shape: str) -> Select:
    """Up to ``:limit`` active customers of one look-up, as plain columns."""
    if dialect == "sqlite" and shape == "phone_suffix":
        # driven by the suffix range itself, stopping at the limit (the IN form of
        # the list reads every match first)
        stmt = (select(*_CUSTOMER_HIT).distinct()
                .select_from(_phone_suffixes)
                .join(Customer, Customer.id == _phone_suffixes.c.customer_id)
                .where(_SUFFIX_RANGE))
    else:
        stmt = _customer_filter(dialect, shape, select(*_CUSTOMER_HIT))
    return stmt.where(_ACTIVE).limit(_LIMIT)


def _product_exact_cond() -> Any:
    return or_(Product.sku == bindparam("sku"), Product.barcode == bindparam("b1"),
               Product.barcode == bindparam("b2"))


def _product_exact_stmt(dialect: str) -> Select:
    return select(*_PRODUCT_HIT).where(_product_exact_cond())


def _product_words_filter(dialect: str, stmt: Select) -> Select:
    if dialect == "sqlite":
        return (stmt.join(_products_fts, _products_fts.c.rowid == Product.id)
                .where(_match("products_fts", "m")))
    return stmt.where(_match(PRODUCT_TSV, "tsq"))


def _product_words_stmt(dialect: str) -> Select:
    return _product_words_filter(dialect, select(*_PRODUCT_HIT)).limit(_LIMIT)


_built: dict[tuple[Any, ...], Select] = {}


def _prebuilt(build: Any, dialect: str, *shape: str) -> Select:
    """``build(dialect, *shape)``, built once per process."""
    key = (build, dialect, *shape)
    stmt = _built.get(key)
    if stmt is None:
        stmt = _built[key] = build(dialect, *shape)
    return stmt


# ------------------------------------------------------------ the search box

def search_customers(session: Session, q: str, limit: int = 20) -> list[CustomerHit]:
    """Up to ``limit`` active customers matching ``q``, unranked: each look-up is one
    index look-up that stops at ``limit`` rows."""
    dialect = dialect_of(session)
    conn = session.connection()
    found: dict[int, CustomerHit] = {}
    for shape, params in customer_lookups(dialect, q):
        if shape == "words" and found and _FULL_EMAIL.match(q.strip()):
            # a whole e-mail address that found its owner(s) by the address: its
            # words (``outlook``, ``com``: huge prefix doclists) add nothing useful
            break
        for row in conn.execute(_prebuilt(_customer_hits_stmt, dialect, shape),
                                {**params, "limit": limit}):
            found.setdefault(row[0], CustomerHit._make(row))
        if len(found) >= limit:
            break
    return list(found.values())[:limit]


def search_products(session: Session, q: str, limit: int = 20) -> list[tuple[ProductHit, bool]]:
    """``(product, exact)`` for up to ``limit`` products, exact identifier hits first
    (the SKU match before a barcode match). The SKU and barcode look-ups are one
    statement (SKU or either barcode spelling)."""
    dialect = dialect_of(session)
    conn = session.connection()
    exact, words = product_lookups(dialect, q)
    rows = conn.execute(_prebuilt(_product_exact_stmt, dialect), exact)
    hits = [ProductHit._make(r) for r in rows]
    found: dict[int, tuple[ProductHit, bool]] = {}
    for p in sorted(hits, key=lambda p: p.sku != exact["sku"])[:limit]:
        found[p.id] = (p, True)
    if words is not None and len(found) < limit:
        for row in conn.execute(_prebuilt(_product_words_stmt, dialect), {**words, "limit": limit}):
            found.setdefault(row[0], (ProductHit._make(row), False))
    return list(found.values())[:limit]


def search_items(session: Session, q: str, limit: int = 20) -> list[ItemRef]:
    """Units whose serial is exactly ``q`` (normalised), with their product's name and SKU."""
    return items_by_serial(session, q)[:limit]


def search_records(session: Session, query: str, actor: Any, limit: int,
                   permissions: set[str]) -> list[SearchResult]:
    """The kernel records' contribution to the unified search, for what ``actor`` may see."""
    results: list[SearchResult] = []
    if "core.items.view" in permissions:
        for item in search_items(session, query, limit):
            results.append(SearchResult(
                type="item", id=item.id, title=f"{item.product_name} · {item.serial}",
                subtitle=f"unit · {item.status.replace('_', ' ')} · {item.product_sku}",
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


# ----------------------------------------------------------------- API lists

def _customer_list(dialect: str, merged: str, *shapes: str) -> Select:
    """Customers of the union of ``shapes`` (``merged``: "all" or "active"), ordered."""
    stmt = select(Customer)
    if merged == "active":
        stmt = stmt.where(_ACTIVE)
    if len(shapes) == 1:
        stmt = _customer_filter(dialect, shapes[0], stmt)
        if dialect == "sqlite" and shapes[0] == "words":
            return stmt.order_by(_customers_fts.c.rowid.desc())
        if shapes[0] == "phone_prefix":   # up to a tenth of all customers: index order
            return stmt.order_by(Customer.phone_digits, Customer.id)
        return stmt.order_by(Customer.id.desc())
    ids = [_customer_filter(dialect, shape, select(Customer.id)) for shape in shapes]
    return stmt.where(or_(*(Customer.id.in_(i) for i in ids))).order_by(Customer.id.desc())


def customer_list_stmt(session: Session, q: str | None, *, include_merged: bool = False) -> Select:
    """``GET /customers``: a select of customers, searched when ``q`` is given, newest
    first (a one- or two-digit phone prefix: by phone number). Each order is an
    index's: words come in the FTS table's rowid order, which is the customers' id, so
    a page stops after a page of matches instead of sorting them all. The statements
    are built once; the query's values are bound to a copy (``core.rest.paginate``
    takes a statement, not parameters)."""
    merged = "all" if include_merged else "active"
    if not (q and q.strip()):
        stmt = select(Customer)
        if not include_merged:
            stmt = stmt.where(Customer.merged_into_id.is_(None))
        return stmt.order_by(Customer.name, Customer.id)
    dialect = dialect_of(session)
    lookups = customer_lookups(dialect, q)
    if not lookups:
        return select(Customer).where(Customer.id.is_(None))
    params = {k: v for _shape, p in lookups for k, v in p.items()}
    return _prebuilt(_customer_list, dialect, merged, *(s for s, _p in lookups)).params(**params)


def _product_list(dialect: str, words: str) -> Select:
    cond = _product_exact_cond()
    if words == "words":
        ids = select(_products_fts.c.rowid).where(_match("products_fts", "m")) \
            if dialect == "sqlite" else select(Product.id).where(_match(PRODUCT_TSV, "tsq"))
        cond = or_(cond, Product.id.in_(ids))
    return select(Product).where(cond).order_by(Product.id.desc())


def product_list_stmt(session: Session, q: str | None) -> Select:
    """``GET /products``: a select of products, searched when ``q`` is given (the SKU,
    the barcode's spellings, the words), newest first."""
    if not (q and q.strip()):
        return select(Product).order_by(Product.name, Product.id)
    dialect = dialect_of(session)
    exact, words = product_lookups(dialect, q)
    stmt = _prebuilt(_product_list, dialect, "words" if words is not None else "exact")
    return stmt.params(**exact, **(words or {}))
